"""The English-word check the browser tests run over the visible text of Chinese pages."""
from tests.e2e.english import EnglishCheck, english_words


def test_codes_and_english_words_are_found_names_and_references_are_not():
    text = ("救助案件 360702-2023-000010 已受理 · 原因：push:1 · 类别 dibao, inpatient · Pending review\n"
            "结算ID DEMO-GZ01 · 3607**********131X · 导出 Excel / PDF · English · gz_caseworker · "
            "S = T − B − C · 文件 演示推送-360700.json")
    assert english_words(text) == ["push:1", "dibao", "inpatient", "Pending", "review"]


def test_the_check_names_the_page_and_its_words():
    check = EnglishCheck()
    check.report(None, "/cases/1/", "案件 manual")
    check.report(None, "/cases/claims/import/", "忽略 mdtrt_id 列")  # allowed on that page only
    assert check.problems() == ["/cases/1/: manual"]


def test_the_words_issue_14_found_on_chinese_pages_are_caught():
    # a monitoring run's trigger, a push's processing path, a warning's claim reference, a push
    # column's Latin header name and a category code, as they used to show
    text = "2023-05-01 08:00 · manual\n完成 2023-05-01（generic）\n2023-08-21 (c11)\n姓名 name、psn_name\n低保对象 · dibao"
    assert english_words(text) == ["manual", "generic", "c11", "name", "psn_name", "dibao"]
