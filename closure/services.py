"""Closing an account: an orchestration above accounts, billing and jobs."""

import logging

from django.db import transaction

from accounts.models import User
from accounts.services import user_deactivate, user_erase
from billing.services import account_lock
from jobs.lifecycle import jobs_delete_for_user

logger = logging.getLogger(__name__)


def account_close(*, user: User) -> None:
    """Close an account and remove everything of the person's.

    Cancels queued and running jobs (refunded, then forfeited with the rest of
    the credits), deletes every job with its stems, upload and output files,
    then erases the account (accounts.services.user_erase): tokens, social
    accounts, addresses and the user, purchases anonymised, each address
    remembered as a salted hash so that no new signup bonus is granted.
    """
    user_id = user.pk
    user_deactivate(user=user)
    # Cancelling talks to the stemworker: most of it stays out of the transaction.
    jobs_delete_for_user(user_id=user_id)
    with transaction.atomic():
        # The admission lock: a job admitted meanwhile is visible after it.
        account_lock(user)
        jobs_delete_for_user(user_id=user_id)
        user_erase(user=user)
    logger.info("closed account %s", user_id)
