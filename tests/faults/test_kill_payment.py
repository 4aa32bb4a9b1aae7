"""SIGKILL of the worker applying a bank's return file, half-way: nothing is paid twice, nothing is
lost, and the end state is the state of an undisturbed run.

The same scenario is built twice (a batch of a few thousand lines: regular payments, supplementary
payments; a return file with paid, failed and rejected rows — recoveries are receivables, never bank lines). The first return file
is applied by an undisturbed worker. The second one's worker is killed (SIGKILL of its whole
process group) once some chunks are committed and others are not; a new worker is started, the
broker hands the unacknowledged job out again after the visibility timeout and the job carries on
after the last committed chunk. The two batches' normalised snapshots (no ids, no timestamps) must
be identical, every line paid at most once and every paid case carry exactly one ``bank_ok`` event.
"""
from __future__ import annotations

import datetime
import hashlib
import io
import itertools
import time
from decimal import Decimal

import pytest
from django.db.models import Count, Q

from cases.models import (
    Adjustment,
    Application,
    ApplicationEvent,
    BankReturn,
    PaymentBatch,
    PaymentLine,
    Person,
)
from cases.services import bank_returns
from tests.cases.factories import add_statistics, make_case, make_team

pytestmark = [pytest.mark.celery_worker, pytest.mark.postgres, pytest.mark.slow,
              pytest.mark.django_db(transaction=True, serialized_rollback=True)]

REGULAR = 1940          # regular payment lines
ADJUSTMENTS = 60        # supplementary payment lines (of paid cases)
FAILED_EVERY = 17       # every 17th row of the return file: the bank could not pay
MISMATCH_EVERY = 997    # every 997th row: a wrong amount (rejected on receipt)
_numbers = itertools.count(1)


def build(team, settlement, tag: str) -> PaymentBatch:
    """A batch of REGULAR + ADJUSTMENTS lines, made in bulk (the same shape for every tag)."""
    region, county = team.region, "360702"
    persons = Person.objects.bulk_create([
        Person(id_number=f"9{tag}{i:015d}"[:18], id_mask_key="", name=f"测试{i}", sex="M",
               birth_date=datetime.date(1960, 1, 1) + datetime.timedelta(days=i), region_id=county,
               bank_name="农村商业银行", bank_account=f"6217{i:012d}", account_holder=f"户主{i}")
        for i in range(REGULAR + ADJUSTMENTS)
    ])
    # Built as if its bank file had been exported and sent (results come only after that).
    batch = PaymentBatch.objects.create(region_id=region, created_by=team.payment, number=f"PB-F{tag}-{next(_numbers)}",
                                        exported_at=datetime.datetime(2024, 3, 2, tzinfo=datetime.UTC))
    amounts = [Decimal(1000 + (i * 37) % 9000) + Decimal(i % 100) / 100 for i in range(len(persons))]
    apps = Application.objects.bulk_create([
        Application(
            number=f"F{tag}-{i:06d}", person=p, region_id=county, year=2023,
            state="in_payment" if i < REGULAR else "paid", approved_by=team.approver, approved_settlement=settlement,
            amount_approved=amounts[i], current_batch=batch if i < REGULAR else None,
            approved_at=datetime.datetime(2024, 3, 1, tzinfo=datetime.UTC),
        )
        for i, p in enumerate(persons)
    ])
    adjustments = Adjustment.objects.bulk_create([
        Adjustment(application=app, settlement=settlement, kind="supplementary",
                   amount=Decimal(300 + j), basis_hash=f"{tag}-{j}",
                   status="in_payment", current_batch=batch)
        for j, app in enumerate(apps[REGULAR:])
    ])
    lines = [
        PaymentLine(batch=batch, application=app, kind="regular", amount=app.amount_approved, payee_type="person",
                    payee_name=app.person.account_holder, payee_bank=app.person.bank_name,
                    payee_account=app.person.bank_account)
        for app in apps[:REGULAR]
    ] + [
        PaymentLine(batch=batch, application=adj.application, adjustment=adj, kind=adj.kind, amount=adj.amount,
                    payee_type="person", payee_name=adj.application.person.account_holder,
                    payee_bank=adj.application.person.bank_name, payee_account=adj.application.person.bank_account)
        for adj in adjustments
    ]
    PaymentLine.objects.bulk_create(lines)
    PaymentBatch.objects.filter(pk=batch.pk).update(line_count=len(lines), total_amount=sum(line.amount for line in lines))
    batch.refresh_from_db()
    return batch


def return_file(batch: PaymentBatch) -> io.BytesIO:
    rows = ["明细号,批次号,收款人,账号,金额,结果,银行流水号,失败原因"]
    for n, line in enumerate(batch.lines.order_by("pk"), start=1):
        amount = line.amount + Decimal("0.01") if n % MISMATCH_EVERY == 0 else line.amount
        if n % FAILED_EVERY == 0:
            rows.append(f"{line.pk},{batch.number},{line.payee_name},{line.payee_account},{amount},失败,,账户已冻结{n}")
        else:
            rows.append(f"{line.pk},{batch.number},{line.payee_name},{line.payee_account},{amount},成功,BK{n:07d},")
    return io.BytesIO(("\ufeff" + "\r\n".join(rows) + "\r\n").encode("utf-8"))


def snapshot(batch: PaymentBatch) -> dict:
    """What the run left, without ids and timestamps: per line (in batch order) its result and its
    case's / adjustment's state, the batch's status, the return file's counts."""
    batch.refresh_from_db()
    lines = []
    for line in batch.lines.select_related("application", "adjustment").order_by("pk"):
        app, adj = line.application, line.adjustment
        lines.append((
            line.kind, str(line.amount), line.status, line.bank_reference, line.failure_reason,
            app.state, app.current_batch_id is not None, app.paid_at is not None,
            adj.status if adj else None, adj.current_batch_id is not None if adj else None,
            (adj.settled_at is not None) if adj else None,
        ))
    br = BankReturn.objects.get(batch=batch)
    events = sorted(ApplicationEvent.objects.filter(application__payment_lines__batch=batch, action__startswith="bank_")
                    .values_list("action", "from_state", "to_state", "comment"))
    return {
        "batch": batch.status, "lines": lines, "events": events,
        "return": (br.status, br.rows_total, br.rows_valid, br.rows_done, br.lines_paid, br.lines_failed,
                   br.lines_already_recorded, br.rows_rejected, [(e["row"], e["field"]) for e in br.errors]),
    }


def check_paid_once(batch: PaymentBatch) -> None:
    apps = Application.objects.filter(payment_lines__batch=batch, payment_lines__kind="regular")
    paid = apps.filter(state="paid")
    assert paid.exists()
    # exactly one bank_ok event per paid case, none for the others
    counts = dict(paid.annotate(n=Count("events", filter=Q(events__action="bank_ok"))).values_list("pk", "n"))
    assert set(counts.values()) == {1}, {k: v for k, v in counts.items() if v != 1}
    assert not ApplicationEvent.objects.filter(application__in=apps.exclude(state="paid"), action="bank_ok").exists()
    # no case has two paid regular lines, no adjustment two paid lines
    twice = (PaymentLine.objects.filter(status="paid", application__in=apps, adjustment__isnull=True)
             .values("application").annotate(n=Count("id")).filter(n__gt=1))
    assert not twice.exists()
    twice_adj = (PaymentLine.objects.filter(batch=batch, status="paid", adjustment__isnull=False)
                 .values("adjustment").annotate(n=Count("id")).filter(n__gt=1))
    assert not twice_adj.exists()


def test_killed_worker_resumes_and_pays_nothing_twice(workers, monkeypatch):
    from policies import bookcache

    bookcache.forget()
    add_statistics()
    team = make_team("360700", prefix="fault")
    template = make_case(team, "approved")  # a real approved settlement the bulk cases point at
    settlement = template.approved_settlement
    started = time.monotonic()
    calm_batch, killed_batch = build(team, settlement, "1"), build(team, settlement, "2")
    built = time.monotonic() - started

    workers.start()  # starts while the undisturbed run below goes on
    # The undisturbed run, in this process (its job is not sent to the worker).
    monkeypatch.setattr(bank_returns, "enqueue", lambda *args, **kwargs: None)
    calm = bank_returns.receive_bank_return(acting_user=team.payment2, batch_id=calm_batch.pk,
                                            fileobj=return_file(calm_batch), filename="calm.csv")
    monkeypatch.undo()
    bank_returns.apply_bank_return(bank_return_id=calm.pk)  # the worker's part: check the rows, then apply
    calm.refresh_from_db()
    assert calm.status == "done" and calm.rows_valid > 5 * bank_returns.CHUNK_SIZE
    calm_seconds = time.monotonic() - started - built

    # The run that is killed half-way.
    killed = bank_returns.receive_bank_return(acting_user=team.payment2, batch_id=killed_batch.pk,
                                              fileobj=return_file(killed_batch), filename="killed.csv")
    workers.wait_for(
        lambda: BankReturn.objects.filter(pk=killed.pk, rows_done__gte=2 * bank_returns.CHUNK_SIZE).exists(),
        timeout=60, what="two chunks committed", interval=0.01)
    workers.kill()
    killed.refresh_from_db()
    assert killed.status == "processing"
    assert 0 < killed.rows_done < killed.rows_valid, (killed.rows_done, killed.rows_valid)
    assert killed.rows_done % bank_returns.CHUNK_SIZE == 0  # whole chunks only: the one in flight was rolled back
    done_at_kill = killed.rows_done
    paid_at_kill = PaymentLine.objects.filter(batch=killed_batch, status="paid").count()
    assert 0 < paid_at_kill < killed_batch.line_count

    workers.start()
    workers.wait_for(lambda: BankReturn.objects.filter(pk=killed.pk, status="done").exists(), timeout=60,
                     what="the resumed run")
    killed.refresh_from_db()
    assert killed.rows_done == killed.rows_valid > done_at_kill

    calm_state, killed_state = snapshot(calm_batch), snapshot(killed_batch)
    assert killed_state["return"] == calm_state["return"]
    assert killed_state["batch"] == calm_state["batch"] == "open"  # the rejected rows' lines are still pending
    assert killed_state["events"] == calm_state["events"]
    assert killed_state["lines"] == calm_state["lines"]
    check_paid_once(calm_batch)
    check_paid_once(killed_batch)
    assert killed.lines_already_recorded == 0  # chunks committed before the kill were not applied again
    print(f"\nbuilt 2×{calm_batch.line_count} lines in {built:.1f} s; undisturbed run {calm_seconds:.1f} s; "
          f"killed at {done_at_kill}/{killed.rows_valid} rows; total {time.monotonic() - started:.1f} s")
    # the file's hash: the same file again is the same return
    again = bank_returns.receive_bank_return(acting_user=team.payment2, batch_id=killed_batch.pk,
                                             fileobj=return_file(killed_batch), filename="again.csv")
    assert again.pk == killed.pk and not again.created
    assert hashlib.sha256(return_file(killed_batch).getvalue()).hexdigest() == killed.sha256
