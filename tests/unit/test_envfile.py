"""The skills' environment files, as ``serve --env-file`` reads them."""

import pytest

from skills.envfile import EnvFileError, parse_env_file, read_env_file

pytestmark = pytest.mark.unit


def test_it_reads_quoted_values_with_escapes():
    text = '# rendered\nASK_VERIFY_REQUESTS="true"\nTOKEN="a \\"quoted\\" \\\\ value $HOME"\n'
    assert parse_env_file(text) == {"ASK_VERIFY_REQUESTS": "true",
                                    "TOKEN": 'a "quoted" \\ value $HOME'}


def test_it_reads_bare_and_empty_values():
    assert parse_env_file("A=plain value\nB=\n\n; comment\n") == {"A": "plain value", "B": ""}


@pytest.mark.parametrize("line", ['1BAD="x"', 'A="unterminated', "export A=1", 'A="x" B="y"'])
def test_it_names_the_line_it_cannot_read(line):
    with pytest.raises(EnvFileError, match="line 2"):
        parse_env_file(f"OK=1\n{line}\n", "skill.env")


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(EnvFileError, match="cannot read"):
        read_env_file(str(tmp_path / "absent.env"))
