from django.test import TestCase


class HealthTestCase(TestCase):
    def test_it_answers_without_a_login(self):
        r = self.client.get("/_health")
        self.assertEqual(r.json(), {"status": "ok"})
