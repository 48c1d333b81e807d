"""Alexa skills for the appliance: the runtime (``skills.runtime``) and the bundled skills."""
