"""The one cron schedule: `manage.py rqcron config.cron`."""

from rq import cron

from billing.tasks import purchases_reconcile_task
from jobs.runner.tasks import (
    jobs_purge_expired_task,
    jobs_reap_task,
    shared_volume_sweep_task,
)
from mixes.tasks import mixes_reap_task
from webhooks.tasks import deliveries_due_enqueue_task

# Stems are promised for OUTPUT_RETENTION_HOURS; purging every 5 minutes keeps
# that promise to within minutes.
cron.register(jobs_purge_expired_task, "default", interval=300)
# A worker killed mid-job or a queue lost from Redis must not strand a job.
cron.register(jobs_reap_task, "default", interval=60)
# Whatever a crash left on the shared volume goes within the hour.
cron.register(shared_volume_sweep_task, "default", interval=900)
# A lost Square webhook must never cost a buyer their credits.
cron.register(purchases_reconcile_task, "default", interval=120)
# Webhook retries are scheduled in Postgres; this hands the due ones to a worker.
cron.register(deliveries_due_enqueue_task, "webhooks", interval=5)
# A render whose worker died is failed, so that asking again renders it anew.
cron.register(mixes_reap_task, "default", interval=300)
