from django.urls import path

from . import deploy_key, deploy_page, release_log, rollback

app_name = "releases"

urlpatterns = [
    path("skills/<slug:slug>/deploy/", deploy_page.deploy_page, name="deploy"),
    path("skills/<slug:slug>/deploy/key/", deploy_key.deploy_key, name="deploy_key"),
    path("skills/<slug:slug>/releases/<int:number>/log", release_log.release_log, name="log"),
    path("skills/<slug:slug>/releases/<int:number>/rollback/", rollback.rollback,
         name="rollback"),
]
