"""Run a skill on AWS Lambda instead of the host: package it (``package.py``), deploy it and
switch its endpoint (``deploy.py``). No Django here: the admin's command and page call these
with what the catalogue knows, and a skill author can call them from a script too.
"""
