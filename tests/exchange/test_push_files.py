"""Identity pushes arrive as CSV in UTF-8, UTF-8 with BOM, GBK or GB18030, as .xlsx, or as JSON
through the API; a file that cannot be read is refused at once, saying why."""
import datetime
import io

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from cases.exchange.errors import Invalid
from cases.exchange.models import IdentityPush
from cases.exchange.services.pushes import receive_file
from cases.models import Identity, Person
from tests.exchange.helpers import HEADER, civil_liaison, csv_bytes, new_number, push_file, xlsx_bytes
from tests.exchange.oncommit import run_on_commit

pytestmark = pytest.mark.django_db
D = datetime.date


@pytest.mark.parametrize("encoding, name, detected", [
    ("utf-8", "张三", "utf-8"),
    ("utf-8-sig", "张三", "utf-8-sig"),
    ("gbk", "钟秀英", "gbk"),
    ("gb18030", "吉𠮷祥", "gb18030"),  # 𠮷 exists in GB18030 only (not GBK)
])
def test_each_csv_encoding_is_detected_and_read(encoding, name, detected):
    n = new_number()
    push, _ = push_file(civil_liaison(), csv_bytes([[n, name, "低保对象", "新增", "2023-05-01", "赣民〔2023〕1号", ""]],
                                                   encoding=encoding))
    assert push.status == "done" and push.encoding == detected and push.rows_rejected == 0
    assert Person.objects.get(id_number=n).name == name


def test_xlsx_with_date_cells_and_text_numbers_and_a_number_that_lost_digits():
    n1, n2 = new_number(), new_number()
    data = xlsx_bytes([[n1, "王一", "dibao", "新增", datetime.datetime(2023, 5, 1), "文1", 360702],
                       [float(n2), "王二", "dibao", "新增", "2023-05-01", "文2", ""]])
    push, _ = push_file(civil_liaison(), data, name="list.xlsx")
    assert push.status == "done" and push.file_format == "xlsx"
    assert Identity.objects.get(person__id_number=n1).start == D(2023, 5, 1)
    rejected = push.rejected_rows.get()
    assert rejected.row_no == 3 and rejected.errors[0]["code"] == "id_numeric"


def test_english_headers_in_any_order_and_extra_columns_are_understood():
    n = new_number()
    header = ["note", "effective_date", "action", "category", "name", "id_number", "reference"]
    push, _ = push_file(civil_liaison(), csv_bytes([["x", "2023-05-01", "add", "tekun", "李四", n, "文"]], header=header))
    assert push.rows_rejected == 0 and Identity.objects.get(person__id_number=n).category == "tekun"


def test_a_file_without_the_required_columns_is_stored_and_the_worker_fails_it_naming_them():
    n = new_number()
    push, created = receive_file(acting_user=civil_liaison(), department="civil_affairs", region_code="360702",
                                 fileobj=io.BytesIO(csv_bytes([[n, "张三"]], header=["身份证号码", "姓名"])),
                                 filename="a.csv")  # (the job waits for a commit that never comes here)
    # the request only stored the file: no encoding read, no header read yet
    stored = IdentityPush.objects.get(pk=push.pk)
    assert created and stored.status == "queued" and stored.encoding == "" and stored.content_hash
    from cases.exchange.pushes import processing

    done = processing.run(push.pk)
    assert done.status == "failed" and "类别" in done.failure and "文号" in done.failure
    assert done.encoding == "utf-8" and not Person.objects.filter(id_number=n).exists()


def test_unreadable_files_fail_in_the_worker_with_the_reason_and_empty_or_old_excel_is_refused_at_once():
    liaison = civil_liaison()
    for data, name, words in [(b"\x00\xff\xfe\x81" * 50, "a.csv", "UTF-8"), (b"PK\x03\x04broken", "a.xlsx", "Excel")]:
        push, _ = push_file(liaison, data, name=name)
        assert push.status == "failed" and words.lower() in push.failure.lower(), push.failure
    for data, name, words in [(b"", "a.csv", "为空"), (b"\xd0\xcf\x11\xe0" + b"\0" * 60, "a.xls", ".xls")]:
        with pytest.raises(Invalid) as err:
            receive_file(acting_user=liaison, department="civil_affairs", region_code="360702",
                         fileobj=io.BytesIO(data), filename=name)
        assert err.value.field == "file" and (words in str(err.value) or "empty" in str(err.value))
    assert IdentityPush.objects.count() == 2


def test_the_same_file_twice_is_one_push_also_under_another_name():
    n = new_number()
    data = csv_bytes([[n, "张三", "低保对象", "新增", "2023-05-01", "文", ""]])
    first, created = push_file(civil_liaison(), data, name="a.csv")
    again, created_again = push_file(civil_liaison(), data, name="b.csv")
    assert created and not created_again and again.pk == first.pk and IdentityPush.objects.count() == 1


def test_only_liaisons_of_the_department_covering_the_region_may_push():
    from cases.exchange.errors import NotPermitted

    with pytest.raises(NotPermitted):
        receive_file(acting_user=civil_liaison("130900"), department="civil_affairs", region_code="360702",
                     fileobj=io.BytesIO(csv_bytes([])), filename="a.csv")
    with pytest.raises(Invalid):
        from tests.factories import make_user

        receive_file(acting_user=make_user("liaison", region="360702", department="finance"), department="finance",
                     region_code="360702", fileobj=io.BytesIO(csv_bytes([])), filename="a.csv")


def test_json_push_through_the_api_with_a_token():
    liaison = civil_liaison("360702")
    token = Token.objects.create(user=liaison)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    n = new_number()
    body = {"rows": [{"id_number": n, "name": "赵六", "category": "低保对象", "action": "新增",
                      "effective_date": "2023-05-01", "reference": "赣民〔2023〕5号"},
                     {"身份证号码": "123", "姓名": "坏", "类别": "dibao", "操作": "新增", "生效日期": "2023-05-01", "文号": "x"}]}
    with run_on_commit():
        response = api.post("/api/v1/exchange/pushes/", body, format="json")
    assert response.status_code == 201, response.content
    push = IdentityPush.objects.get(pk=response.json()["id"])
    assert (push.channel, push.api_token_hint, push.file_format) == ("api", token.key[:8], "json")
    status = api.get(f"/api/v1/exchange/pushes/{push.pk}/").json()
    assert status["status"] == "done" and status["rows_rejected"] == 1 and status["identities_opened"] == 1
    # the summary the push page words (新增 / 变更 / 无变化 / 被拒), in numbers
    assert (status["rows_added"], status["rows_changed"], status["rows_unchanged"]) == (1, 0, 0)
    rejected = api.get(f"/api/v1/exchange/pushes/{push.pk}/rejected/").json()["results"]
    assert rejected[0]["row_no"] == 2 and rejected[0]["problems"][0]["field"] == "id_number"
    # The same rows again are recognised (200, the same push).
    with run_on_commit():
        again = api.post("/api/v1/exchange/pushes/", {"rows": list(reversed(body["rows"]))[::-1]}, format="json")
    assert again.status_code == 200 and again.json()["id"] == push.pk
    bad = api.post("/api/v1/exchange/pushes/", {"rows": "not a list"}, format="json")
    assert bad.status_code == 400 and bad.json()["field"] == "rows"


def test_file_upload_through_the_api():
    liaison = civil_liaison("360702")
    api = APIClient()
    api.force_authenticate(liaison)
    n = new_number()
    upload = io.BytesIO(csv_bytes([[n, "钱七", "低保", "新增", "2023-05-01", "文", ""]], encoding="gbk"))
    upload.name = "list.csv"
    with run_on_commit():
        response = api.post("/api/v1/exchange/pushes/upload/", {"file": upload}, format="multipart")
    # the answer comes before the file is read: queued, encoding not yet known
    assert response.status_code == 201 and response.json()["status"] == "queued" and response.json()["encoding"] == ""
    after = api.get(f"/api/v1/exchange/pushes/{response.json()['id']}/").json()
    assert after["status"] == "done" and after["encoding"] == "gbk"
    assert Person.objects.filter(id_number=n).exists()


def test_the_template_is_downloadable(client):
    client.force_login(civil_liaison())
    response = client.get(reverse("exchange:push_template", args=["csv"]))
    assert response.status_code == 200 and response.content.decode("utf-8-sig").startswith(",".join(HEADER))


def test_a_new_persons_residence_and_scheme_come_from_the_file_or_are_marked_to_be_verified(client):
    told, untold = new_number(), new_number()
    header = [*HEADER, "户籍性质", "参保类型"]
    data = xlsx_bytes([[told, "城一", "低保对象", "新增", "2023-05-01", "文1", "", "非农业户口", "职工基本医疗保险"],
                       [untold, "乡二", "低保对象", "新增", "2023-05-01", "文2", "", "", ""]], header=header)
    push, _ = push_file(civil_liaison(), data, name="list.xlsx")
    assert push.status == "done" and push.rows_rejected == 0
    assert Person.objects.filter(id_number=told).values_list("residence", "scheme").get() == ("urban", "employee")
    # not said: not assumed (农村 / 城乡居民医保) but to be verified
    person = Person.objects.get(id_number=untold)
    assert (person.residence, person.scheme) == ("", "") and person.unverified_fields == ["residence", "scheme"]
    # the same through the JSON API, by the keys the serializer documents
    liaison = civil_liaison(username="json_pusher")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=liaison).key}")
    n = new_number()
    with run_on_commit():
        response = api.post("/api/v1/exchange/pushes/", {"rows": [
            {"id_number": n, "name": "接口", "category": "dibao", "action": "新增", "effective_date": "2023-05-01",
             "reference": "文3", "residence": "农村", "scheme": "城乡居民医保"}]}, format="json")
    assert response.status_code in (201, 202), response.content
    assert Person.objects.filter(id_number=n).values_list("residence", "scheme").get() == ("rural", "resident")
    # the template lists the optional columns
    client.force_login(civil_liaison(username="tpl_reader"))
    body = client.get(reverse("exchange:push_template", args=["csv"])).content.decode("utf-8-sig")
    assert "户籍性质" in body.splitlines()[0] and "参保类型" in body.splitlines()[0]
    page = client.get(reverse("exchange:push_new")).content.decode()
    assert "户籍性质" in page and "参保类型" in page and "待核实" in page
