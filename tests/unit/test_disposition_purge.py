"""The pack after a destruction: old records and their blob files gone, no .old copies."""
import transaction
import ZODB
from ZODB.blob import Blob
from ZODB.FileStorage import FileStorage

from archive.disposition.purge import pack_store


def test_pack_drops_unreachable_blobs_and_keeps_no_old_copy(tmp_path):
    storage = FileStorage(str(tmp_path / "Data.fs"), blob_dir=str(tmp_path / "blobs"))
    db = ZODB.DB(storage)
    tm = transaction.TransactionManager()    # its own: the thread's default is other tests'
    conn = db.open(transaction_manager=tm)
    blob = Blob()
    with blob.open("w") as fh:
        fh.write(b"secret-bytes-123")
    conn.root()["b"] = blob
    tm.commit()
    del conn.root()["b"]
    tm.commit()
    found = lambda: [p for p in tmp_path.rglob("*") if p.is_file() and b"secret-bytes-123" in p.read_bytes()]
    assert found()
    pack_store(db)
    assert found() == []
    assert not (tmp_path / "Data.fs.old").exists() and not (tmp_path / "blobs.old").exists()
    assert storage.pack_keep_old   # the setting is the storage's own again
    conn.close()
    db.close()
