import pytest
from hypothesis import given
from hypothesis import strategies as st

from sunaba.datasets import LgCodeError, is_valid_lg_code, lg_code_check_digit, validate_lg_code

REAL = {
    "011002": "札幌市",
    "131016": "千代田区",
    "130001": "東京都",
    "372013": "高松市",
    "172022": "七尾市",
}
REAL |= {"011070": "札幌市西区", "011011": "札幌市中央区"}  # remainders 1 and 0


@pytest.mark.parametrize("code", sorted(REAL))
def test_check_digit_of_real_codes(code):
    assert lg_code_check_digit(code[:5]) == int(code[5])
    assert validate_lg_code(code) == code
    assert is_valid_lg_code(code)


def test_five_digits_are_completed():
    assert validate_lg_code("37201") == "372013"
    assert validate_lg_code("01100") == "011002"
    assert validate_lg_code(1100) == "011002"  # an integer that lost its leading zero
    assert validate_lg_code("３７２０１") == "372013"


def test_five_digits_refused_when_asked():
    with pytest.raises(LgCodeError, match="372013 にしてください"):
        validate_lg_code("37201", allow_five=False)


@pytest.mark.parametrize(
    ("code", "message"), [("372012", "372013"), ("131010", "131016"), ("011001", "011002")]
)
def test_wrong_check_digit_names_the_right_code(code, message):
    with pytest.raises(LgCodeError) as info:
        validate_lg_code(code)
    assert "検査数字が正しくありません" in str(info.value) and message in str(info.value)
    assert not is_valid_lg_code(code)


@pytest.mark.parametrize("code", ["1234", "1234567", "37A01", "", True, 3.5, None])
def test_not_a_code(code):
    with pytest.raises(LgCodeError):
        validate_lg_code(code)
    assert not is_valid_lg_code(code)


@given(st.from_regex(r"\A[0-9]{5}\Z"))
def test_completed_codes_validate(code5):
    code6 = validate_lg_code(code5)
    assert code6[:5] == code5 and validate_lg_code(code6) == code6


@given(st.from_regex(r"\A[0-9]{5}\Z"), st.integers(min_value=1, max_value=9))
def test_any_other_check_digit_fails(code5, shift):
    good = validate_lg_code(code5)
    bad = good[:5] + str((int(good[5]) + shift) % 10)
    with pytest.raises(LgCodeError):
        validate_lg_code(bad)
