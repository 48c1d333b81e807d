from django.urls import path

from . import (
    alexa,
    askalexa,
    editors,
    lambdapage,
    logs,
    publish,
    revert,
    review,
    testconsole,
    views,
    voicecheck,
)

app_name = "console"

urlpatterns = [
    path("_health", views.health, name="health"),
    path("", views.dashboard, name="dashboard"),
    path("apply/", review.apply, name="apply"),
    path("apply/review/", review.review, name="review"),
    path("revert/", revert.revert, name="revert"),
    path("skills/<slug:slug>/templates/", editors.templates_editor, name="templates"),
    path("skills/<slug:slug>/model/", editors.model_editor, name="model"),
    path("skills/<slug:slug>/package/", editors.package_import, name="package_import"),
    path("skills/<slug:slug>/skill-package.zip", editors.package_export, name="package_export"),
    # Not a slug (the dot), so never a skill's logs.
    path("logs/last-requests.json", logs.last_requests, name="last_requests"),
    path("logs/<slug:name>/", logs.logs_page, name="logs"),
    path("logs/<slug:name>/data", logs.logs_data, name="logs_data"),
    path("console/", testconsole.console_index, name="test_console_index"),
    path("console/<slug:slug>/", testconsole.test_console, name="test_console"),
    path("skills/<slug:slug>/voice/", voicecheck.voice_check, name="voice_check"),
    path("skills/<slug:slug>/voice/answer.mp3", voicecheck.voice_check_audio,
         name="voice_check_audio"),
    path("alexa/", alexa.account_page, name="alexa_account"),
    path("alexa/callback/", alexa.callback, name="alexa_callback"),
    path("skills/<slug:slug>/publish/", publish.publish_page, name="publish"),
    path("skills/<slug:slug>/lambda/", lambdapage.lambda_page, name="lambda"),
    path("skills/<slug:slug>/ask/", askalexa.ask_page, name="ask_alexa"),
]
