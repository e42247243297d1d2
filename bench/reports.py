"""Benchmark: the manager reports and the dashboard's first complete render, over HTTP.

Generates (once per data dir) 100,000 accounts with 1,000,000 stage events in the last
365 days (bench.stage_reports' generator over one year instead of two), three assignments
per account, 1,000,000 activities in the last year and 20,000 active plans, serves the app
with one uvicorn worker and prints JSON: each report's median over `--runs` requests, and
the median time from opening /dashboard (token already in session storage) to every chart
drawn, in Debian's headless Chromium (apt-get install chromium):

    ACCOUNTFLOW_DATA_DIR=/tmp/bench-reports .venv/bin/python -m bench.reports
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from app.planning import revenue_sql
from bench import stage_data, stage_reports
from bench.generate import database_url
from bench.ingest import raw_connection
from tests.web.dashboard.server import uvicorn_server

KINDS = (
    "ARRAY['CALL_OUTBOUND','CALL_INBOUND','EMAIL_SENT','EMAIL_RECEIVED','MEETING','VISIT',"
    "'QUOTE','INVOICE','PARTS_PURCHASE','SERVICE_ORDER','TEXT','TRADE_ASSESSMENT','NOTE']"
)
EXTRA = [
    "UPDATE accounts SET classification = (ARRAY['A','B','C','D'])[1 + id % 4]",
    """INSERT INTO assignments (account_id, user_id, manager_type, contact_frequency_days,
                                started_at)
       SELECT a.id, r.ids[1 + (a.id * 7 + t.n * 13) % 20], t.type,
              (ARRAY[7, 14, 30, 60, 90])[1 + (a.id + t.n) % 5],
              now() - make_interval(days => (30 + (a.id * 31 + t.n * 17) % 770)::int)
       FROM accounts a
       CROSS JOIN (VALUES (1, 'SALES'), (2, 'PARTS'), (3, 'SERVICE')) t(n, type)
       CROSS JOIN (SELECT array_agg(id ORDER BY id) AS ids FROM users
                   WHERE email LIKE 'bench.rep%') r""",
    "ALTER TABLE activities DISABLE TRIGGER ALL",
    f"""INSERT INTO activities (account_id, kind, occurred_at, amount)
       SELECT 1 + floor(100000 * power(random(), 2))::int,
              ({KINDS})[1 + floor(random() * 13)::int],
              now() - random() * interval '365 days',
              round((10 + random() * 4990)::numeric, 2)
       FROM generate_series(1, 1000000)""",
    "ALTER TABLE activities ENABLE TRIGGER ALL",
    """INSERT INTO account_revenue_years (account_id, year, revenue)
       SELECT account_id, extract(year FROM occurred_at AT TIME ZONE 'UTC')::int, sum(amount)
       FROM activities WHERE kind IN ('INVOICE', 'PARTS_PURCHASE', 'SERVICE_ORDER')
       GROUP BY 1, 2""",
    *revenue_sql.REBUILD,  # loaded with the revenue trigger off: churn years rebuilt once
    """UPDATE assignments a SET last_contact_at = s.last, contact_days = s.days
       FROM (SELECT account_id, max(occurred_at) AS last,
                    array_agg(DISTINCT (occurred_at AT TIME ZONE 'UTC')::date) AS days
             FROM activities WHERE kind <> 'NOTE' GROUP BY account_id) s
       WHERE a.account_id = s.account_id""",
    """INSERT INTO account_plans (account_id, owner_id, status, period_start, period_end,
           growth_target_pct, planned_net_new, price_change_pct, churn_rate)
       SELECT g * 5, (SELECT min(id) FROM users WHERE email LIKE 'bench.rep%') + g % 20,
              'ACTIVE', date_trunc('year', now())::date,
              (date_trunc('year', now()) + interval '1 year - 1 day')::date,
              round((random() * 30)::numeric, 2), round((random() * 10000)::numeric, 2),
              round((random() * 5)::numeric, 2), CASE WHEN g % 2 = 0 THEN 0.1 END
       FROM generate_series(1, 20000) g""",
]

REPORTS: dict[str, tuple[str, dict[str, Any]]] = {
    "coverageReport USER, CLASSIFICATION": (
        "{ coverageReport(groupBy: [USER, CLASSIFICATION]) { user { name } classification"
        " assignments onTrack dueSoon overdue overdueShare surplus balanced deficit"
        " contactsPerAccountLast365Days } }",
        {},
    ),
    "coverageReport MANAGER_TYPE": (
        "{ coverageReport(groupBy: [MANAGER_TYPE]) { managerType assignments overdue } }",
        {},
    ),
    "stageThroughput.byOwner, one year": (
        "query($from: DateTime!, $to: DateTime!) { stageThroughput(from: $from, to: $to) {"
        " byOwner { owner { name } stage entered exited medianSecondsInStage conversionRate }"
        " } }",
        {"year": True},
    ),
    "stageTrend WEEK, one year": (
        "query($from: DateTime!, $to: DateTime!) { stageTrend(from: $from, to: $to,"
        " interval: WEEK) { periodStart stage entered exited medianSecondsInStage } }",
        {"year": True},
    ),
    "stageTrend DAY, one year": (
        "query($from: DateTime!, $to: DateTime!) { stageTrend(from: $from, to: $to,"
        " interval: DAY) { periodStart stage entered exited medianSecondsInStage } }",
        {"year": True},
    ),
    "stuckEntries 30 days, first 50, totalCount": (
        "{ stuckEntries(olderThanDays: 30, first: 50) { totalCount edges { node { stage"
        " enteredAt account { name } owner { name } } } } }",
        {},
    ),
    "activityMix, one year": (
        "query($from: DateTime!, $to: DateTime!) { activityMix(from: $from, to: $to) {"
        " kind count accounts share } }",
        {"year": True},
    ),
    "forecast INDUSTRY": (
        "query($p: Date!) { forecast(groupBy: INDUSTRY, periodStart: $p) { key accounts"
        " baselineRevenue forecastRevenue targetRevenue gap } }",
        {"period": True},
    ),
}


async def generate(url: str) -> dict[str, Any]:
    connection = await raw_connection(url)
    try:
        done = await connection.fetchval("SELECT count(*) FROM account_plans")
    finally:
        await connection.close()
    if done:
        return {"generated": False}
    one_year = [
        s.replace("interval '730 days'", "interval '365 days'") for s in stage_data.GENERATE
    ]
    stage_data.GENERATE[:] = one_year
    started = time.perf_counter()
    made = await stage_data.generate(url, force=True)
    connection = await raw_connection(url)
    try:
        for statement in EXTRA:
            await connection.execute(statement)
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()
    return {**made, "generated": True, "seconds": round(time.perf_counter() - started, 1)}


def variables(flags: dict[str, Any]) -> dict[str, Any]:
    now = datetime.now(UTC)
    found: dict[str, Any] = {}
    if flags.get("year"):
        found |= {"from": (now - timedelta(days=365)).isoformat(), "to": now.isoformat()}
    if flags.get("period"):
        found["p"] = f"{now.year}-01-01"
    return found


def time_reports(base: str, token: str, runs: int) -> dict[str, float]:
    medians: dict[str, float] = {}
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        for name, (query, flags) in REPORTS.items():
            times = []
            for n in range(runs + 1):
                started = time.perf_counter()
                response = client.post(
                    "/graphql", json={"query": query, "variables": variables(flags)}
                )
                elapsed = time.perf_counter() - started
                body = response.json()
                assert "errors" not in body, body
                if n:  # the first run warms caches and prepared statements
                    times.append(elapsed)
            medians[name] = round(statistics.median(times) * 1000, 1)
            print(f"# {name}: {medians[name]} ms", file=sys.stderr)
    return medians


async def time_dashboard(base: str, token: str, runs: int) -> list[float]:
    from playwright.async_api import async_playwright

    script = f"sessionStorage.setItem('accountflow.token', {json.dumps(token)})"
    sections = ["funnel", "time-in-stage", "trend", "coverage", "stuck"]
    ready = " && ".join(
        f"['ready','empty'].includes(document.querySelector('#{s}').dataset.state)"
        for s in sections
    )
    times = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox"]
        )
        for n in range(runs + 1):
            page = await browser.new_page(viewport={"width": 1280, "height": 1800})
            await page.add_init_script(script)
            started = time.perf_counter()
            await page.goto(f"{base}/dashboard")
            await page.wait_for_function(
                f"document.body.dataset.state === 'done' && {ready}", timeout=60_000
            )
            elapsed = time.perf_counter() - started
            if n:
                times.append(round(elapsed * 1000, 1))
            await page.close()
        await browser.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--renders", type=int, default=5)
    args = parser.parse_args()
    url = database_url()
    made = asyncio.run(generate(url))
    token = asyncio.run(stage_reports.manager_token(url))
    load_before = os.getloadavg()[0]
    data_dir = Path(os.environ.get("ACCOUNTFLOW_DATA_DIR", ".accountflow"))
    with uvicorn_server(url, data_dir) as base:
        reports = time_reports(base, token, args.runs)
        renders = asyncio.run(time_dashboard(base, token, args.renders))
    result = {
        "data": made,
        "load_before": round(load_before, 2),
        "load_after": round(os.getloadavg()[0], 2),
        "report_median_ms": reports,
        "dashboard_render_ms": renders,
        "dashboard_render_median_ms": statistics.median(renders),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
