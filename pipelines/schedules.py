"""Schedules: every source reloaded monthly (catching corrections the sensor cannot see, such as a changed
correspondence table; each load also removes the rows of its source's files that left), reports regenerated
daily (the reports sensor regenerates them after loads too)."""

from __future__ import annotations

import dagster as dg

from pipelines.jobs import REPORTS_JOB, SOURCES_JOB
from pipelines.partitions import LANDED_FILES, SOURCE_TAG, all_files, source_of
from pipelines.resources import SourcesConfig


@dg.schedule(
    name="monthly_all_sources",
    cron_schedule="0 2 1 * *",
    job_name=SOURCES_JOB,
    description="On the 1st at 02:00: reload every file of every configured source.",
)
def monthly_all_sources(context: dg.ScheduleEvaluationContext, sources: SourcesConfig):
    files = all_files(sources.load())
    known = set(context.instance.get_dynamic_partitions(LANDED_FILES.name))
    new = sorted(set(files) - known)
    if new:
        context.instance.add_dynamic_partitions(LANDED_FILES.name, new)
    scheduled = context.scheduled_execution_time.strftime("%Y-%m")
    return [
        dg.RunRequest(partition_key=key, run_key=f"{key}@{scheduled}", tags={SOURCE_TAG: source_of(key)})
        for key in sorted(files)
    ]


daily_reports = dg.ScheduleDefinition(
    name="daily_reports",
    cron_schedule="0 6 * * *",
    job_name=REPORTS_JOB,
    description="Every day at 06:00: regenerate the reports from the warehouse.",
)


def build_schedules() -> list[dg.ScheduleDefinition]:
    return [monthly_all_sources, daily_reports]
