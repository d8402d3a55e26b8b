"""moto's server, with DynamoDB's per-item write serialisation.

DynamoDB applies the writes to one item one at a time, so of two conditional writes
racing on an item only one can see the condition it expects. moto's threaded server
checks a condition and writes in separate steps without a lock, so under load two
racing claims can both pass it. The tests that race runs on one key (tests/it/sequence.rs)
need DynamoDB's behaviour; this wrapper serialises moto's item writes with one lock
and otherwise runs moto's own server unchanged (the same arguments as `moto_server`).
"""

import sys
import threading

from moto.dynamodb.models import DynamoDBBackend
from moto.server import main

_writes = threading.RLock()


def _serialised(method):
    def write(self, *args, **kwargs):
        with _writes:
            return method(self, *args, **kwargs)

    write.__name__ = method.__name__
    return write


for _name in ("put_item", "update_item", "delete_item", "transact_write_items"):
    setattr(DynamoDBBackend, _name, _serialised(getattr(DynamoDBBackend, _name)))

if __name__ == "__main__":
    sys.exit(main())
