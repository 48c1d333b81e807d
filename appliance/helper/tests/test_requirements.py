"""A release's requirements.txt: named packages from the index, or a refusal naming the line."""

from __future__ import annotations

import pytest

from appliance.helper.requirements import RequirementsError, parse

pytestmark = pytest.mark.unit


def test_named_requirements_with_versions_markers_and_comments_are_taken():
    text = ("# what the skill needs\n\nrequests>=2.31  # HTTP\nPyYAML==6.0.1\n"
            "pytz; python_version < '3.12'\nattrs[tests] \\\n  >=23\n")
    assert parse(text) == ["requests>=2.31", "PyYAML==6.0.1",
                           'pytz; python_version < "3.12"', "attrs[tests]>=23"]
    assert parse("") == [] and parse("# nothing\n") == []


@pytest.mark.parametrize(("text", "words"), [
    ("requests\n-e git+https://example.org/x.git#egg=x\n", "line 2: the pip option -e"),
    ("--extra-index-url https://evil.example/simple\n", "the pip option --extra-index-url"),
    ("-r other.txt\n", "the pip option -r"),
    ("x @ https://evil.example/x.whl\n", "not from URLs"),
    ("git+https://example.org/x.git\n", "is not a requirement"),
    ("./vendor/x.whl\n", "is not a requirement"),
    ("skills==1.0\n", "the appliance's skill runtime"),
    ("a\n" * 201, "more than 200"),
    ("x" * 70000, "larger than 64 KiB"),
])
def test_what_could_choose_another_source_is_refused_with_its_line(text, words):
    with pytest.raises(RequirementsError) as caught:
        parse(text)
    assert words in str(caught.value)
