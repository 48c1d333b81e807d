"""The skill's AWS Lambda page against a real moto_server and the strict fake SMAPI server, through
the real boto3 and SMAPI clients: moving there and back, what it shows, who may move, and every
failure said in words."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from unittest import mock

from django.contrib.messages import get_messages
from django.test import override_settings
from django.urls import reverse

from appliance.catalogue.models import Skill
from appliance.deploy import lambdas
from appliance.test import BaseTestCase
from skills.lambda_deploy.package import Limits
from skills.smapi.testing import FakeSMAPI
from tests.motoserver import MotoServer, push_image
from tests.smapilink import create_skill, endpoint, link_admin, linked_client

HOST_ENDPOINT = {"uri": "https://memory-game.localhost/", "sslCertificateType": "SelfSigned"}
FUNCTION = "alexa-skill-memory-game"
SMALL = 64 * 1024  # "the limit": the Memory Game's package is well over it
AWS_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_REGION",
            "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE",
            "AWS_SHARED_CREDENTIALS_FILE")


class LambdaPageTests(BaseTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.workdir = Path(tempfile.mkdtemp(prefix="lambda-page-"))
        cls.moto = MotoServer(cls.workdir)
        cls.fake = FakeSMAPI().__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.fake.__exit__(None, None, None)
        cls.moto.stop()
        shutil.rmtree(cls.workdir, ignore_errors=True)
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.moto.reset()
        clean = {k: v for k, v in os.environ.items() if k not in AWS_KEYS}
        environment = mock.patch.dict(os.environ, {**clean, **self.moto.env(),
                                                   "AWS_CONFIG_FILE": os.devnull,
                                                   "AWS_SHARED_CREDENTIALS_FILE": os.devnull},
                                      clear=True)
        environment.start()
        self.addCleanup(environment.stop)
        # The requirements cache is kept for the class: pip runs once.
        urls = override_settings(ASK_SMAPI_URL=self.fake.url, LWA_URL=self.fake.url,
                                 APPLIANCE_DATA_DIR=self.workdir, LAMBDA_S3_BUCKET="")
        urls.enable()
        self.addCleanup(urls.disable)
        link_admin(self.fake)
        self.smapi = linked_client(self.fake)
        self.addCleanup(self.smapi.close)
        self.skill = Skill.objects.create(
            slug="memory-game", name="Memory Game", source="memory_game", port=8101,
            application_ids=create_skill(self.smapi, HOST_ENDPOINT))
        self.url = reverse("console:lambda", args=["memory-game"])
        self.login()

    def post(self, data=None, user=None):
        if user:
            self.client.force_login(user)
        return self.client.post(self.url, {"memory": 256, "timeout": 8, **(data or {})},
                                follow=True)

    def said(self, page) -> list[str]:
        return [str(m) for m in get_messages(page.wsgi_request)]

    def functions(self) -> list[dict]:
        return self.moto.client("lambda").list_functions()["Functions"]

    def test_the_page_says_where_the_skill_runs_and_what_a_move_does(self):
        page = self.client.get(self.url)
        self.assertContains(page, 'On <strong>this host</strong>: Alexa calls '
                                  '<code>https://memory-game.localhost/</code>')
        self.assertContains(page, "What a move does")
        self.assertContains(page, 'id="move"')
        self.assertNotContains(page, 'id="back"')  # nothing to move back from
        self.assertContains(page, '<code id="aws-region">us-east-1</code>', html=False)
        self.assertContains(page, f'href="{self.url}" class="current">AWS Lambda</a>')

    def test_moving_to_lambda_and_back_from_the_page(self):
        page = self.post({"memory": 512, "timeout": 10})
        [moved] = self.said(page)
        self.assertTrue(moved.startswith("Moved memory-game to AWS Lambda: created role "), moved)
        self.skill.refresh_from_db()
        self.assertEqual((self.skill.runs_on, self.skill.lambda_memory), ("lambda", 512))
        self.assertEqual(endpoint(self.smapi, self.skill.application_ids),
                         {"uri": self.skill.lambda_arn})
        # What AWS has, on the page.
        self.assertContains(page, f'<code id="function-arn">{self.skill.lambda_arn}</code>')
        self.assertContains(page, '<td id="function-region">us-east-1</td>')
        self.assertContains(page, '<td id="function-memory">512 MB</td>')
        self.assertContains(page, '<td id="function-timeout">10 s</td>')
        size = self.moto.client("lambda").get_function_configuration(
            FunctionName=FUNCTION)["CodeSize"]
        self.assertRegex(page.content.decode(), r'<td id="function-package">[\d.]+\xa0MB zip')
        self.assertGreater(size, 1_000_000)

        again = self.post({"memory": 512, "timeout": 10})
        self.assertEqual(self.said(again), [
            f"Nothing had changed: memory-game already runs on AWS Lambda as "
            f"{self.skill.lambda_arn}; nothing was written."])

        back = self.client.post(self.url, {"back": "1"}, follow=True)
        self.assertEqual(self.said(back), [
            "Moved memory-game back to this host: pointed skill "
            f"{self.skill.application_ids} at https://memory-game.localhost/; skill memory-game "
            "runs on the host again from the next apply."])
        self.assertEqual(endpoint(self.smapi, self.skill.application_ids), HOST_ENDPOINT)
        self.assertContains(back, "stays on AWS from an earlier move")

    def test_seeing_needs_view_skill_and_moving_the_move_permission(self):
        viewer = self.staff("catalogue.view_skill")
        self.client.force_login(viewer)
        page = self.client.get(self.url)
        self.assertEqual(page.status_code, 200)
        self.assertNotContains(page, 'id="move-form"')
        self.assertEqual(self.client.post(self.url, {"memory": 256, "timeout": 8}).status_code,
                         403)
        self.assertEqual(self.functions(), [])
        self.client.force_login(self.staff("catalogue.change_hostsettings", username="dave"))
        self.assertEqual(self.client.get(self.url).status_code, 403)

        mover = self.staff("catalogue.view_skill", "catalogue.move_skill_lambda",
                           username="erin")
        page = self.post(user=mover)
        self.assertTrue(self.said(page)[0].startswith("Moved memory-game to AWS Lambda"))

    def test_a_skill_not_published_yet_is_refused_in_words(self):
        self.skill.application_ids = ""
        self.skill.save()
        page = self.post()
        self.assertEqual(self.said(page), [
            "Not moved: skill memory-game has no skill ID, so it is not published yet: publish "
            "it to Alexa first (its Publish to Alexa page, or manage.py skill_publish), or set "
            "the ID it has (skill_add --skill-id). Lambda's Alexa trigger is granted to a skill "
            "ID."])
        self.assertContains(page, 'id="not-published"')
        self.assertEqual(self.functions(), [])

    def test_no_aws_credentials_is_a_message_not_a_server_error(self):
        del os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]
        page = self.post()
        self.assertEqual(page.status_code, 200)
        [said] = self.said(page)
        self.assertTrue(said.startswith("Not moved: no AWS credentials: give the admin an AWS "
                                        "user's keys"), said)

    def test_a_smapi_refusal_is_said_with_what_was_done_before(self):
        self.skill.application_ids = "amzn1.ask.skill.00000000-0000-0000-0000-00000000dead"
        self.skill.save()
        [said] = self.said(self.post())
        self.assertRegex(said, r"^Not moved: Alexa's SMAPI refused: GET \S+/manifest: HTTP 404: ")
        self.assertIn(f" Done before that: created role {FUNCTION}-lambda; ", said)
        self.assertIn(f"; created function {FUNCTION}; ", said)
        self.skill.refresh_from_db()
        self.assertEqual(self.skill.runs_on, "host")

    def test_too_large_for_a_zip_the_page_gives_the_image_steps_then_takes_the_uri(self):
        with mock.patch.object(lambdas, "LIMITS", Limits(unzipped=SMALL)):
            page = self.post()
        context = self.workdir / "lambda-images" / "memory-game"
        steps = page.context["image_steps"]
        build = re.search(r"docker build --platform linux/amd64 --provenance=false -t "
                          rf"(\S+/{FUNCTION}:(\w+)) {re.escape(str(context))}$", steps, re.M)
        self.assertTrue(build, steps)
        self.assertContains(page, '<pre class="command" id="image-steps">')
        self.assertTrue((context / "Dockerfile").is_file())
        self.assertEqual(self.functions(), [])

        uri = push_image(self.moto, FUNCTION, build[2], b"the operator's build")
        page = self.post({"image_uri": uri})
        self.assertTrue(self.said(page)[0].startswith("Moved memory-game to AWS Lambda"))
        self.assertContains(page, f"container image <code>{uri}</code>")
        self.assertContains(page, f'name="image_uri" value="{uri}"')  # to move again with it

    def test_an_image_uri_not_in_ecr_is_a_form_error(self):
        page = self.post({"image_uri": "docker.io/library/python:3.11"})
        self.assertContains(page, "Not an ECR image: an image URI is ACCOUNT.dkr.ecr.REGION.")
        self.assertEqual(self.functions(), [])

    def test_a_function_aws_cannot_be_asked_about_is_said_on_the_page(self):
        self.post()
        del os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]
        page = self.client.get(self.url)
        self.assertEqual(page.status_code, 200)
        self.assertContains(page, "The function could not be read from AWS: no AWS credentials")
