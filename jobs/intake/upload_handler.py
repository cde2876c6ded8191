"""An upload handler that streams every file to disk and stops at MAX_UPLOAD_MB."""

import os
from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import StopUpload, TemporaryFileUploadHandler

from jobs import storage


class LimitedTemporaryFileUploadHandler(TemporaryFileUploadHandler):
    """Like Django's temporary-file handler, but refuses an oversized file while it
    streams, instead of after it has filled the disk.

    Sets `request.upload_too_large` so the view can answer 413. While the shared
    volume is over its budget nothing is written at all (the view answers 503).
    """

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        if not storage.shared_volume_has_room():
            # The view answers 503 (storage_full); the body is read and dropped.
            raise StopUpload(connection_reset=False)
        os.makedirs(settings.FILE_UPLOAD_TEMP_DIR, exist_ok=True)
        super().new_file(*args, **kwargs)
        self._received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self._received += len(raw_data)
        if self._received > settings.MAX_UPLOAD_MB * 1024 * 1024:
            self.file.close()  # deletes the partial temporary file
            if self.request is not None:
                self.request.upload_too_large = True  # type: ignore[attr-defined]
            # Read and discard the rest of the body: nothing more reaches the disk.
            raise StopUpload(connection_reset=False)
        self.file.write(raw_data)
