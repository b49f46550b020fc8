"""The demo's batch of collective applications (demo/collective.py): walked to the end before
the demo's today, with a tie of remainders broken by the committed draw."""
import datetime as dt

from archive.demo.collective import walk_batch
from archive.root import ArchiveRoot
from archive.workflow.collective import quota


def test_the_demo_batch_is_walked_to_its_allocations(registry, procedure):
    root = ArchiveRoot(registry)
    today = dt.date(2026, 12, 7)
    out = walk_batch(root, registry, procedure, today)
    batch = root.batches.get(out["batch"])
    assert batch.state == "decided" and batch.decision.method == "proportional"
    assert batch.decision.verify() is True
    assert sorted(out["quotas"].values()) == [1, 2, 3]       # 2.4, 2.4, 1.2: the tie went by the draw
    assert all(e.when.date() < today for e in batch.events)
    assert len(batch.allocations) == 6 and {u for _, _, u in batch.allocations} == set(out["units"])
    refused = batch.reviews[out["employers"][0]].refused
    assert len(refused) == 1 and "不足1年" in refused[0][1]
    for no in out["employers"]:
        employer = root.batches.employer(no)
        assert {d.metadata["doc_type"] for d in employer.active_documents()} == {
            "collective_application", "staff_roster", "employer_license", "employer_pledge", "quota_decision"}
    assert not any(e.flagged for e in batch.events)
    assert quota.proportional(out["seed"], batch.approved(), 6)[out["employers"][2]]["quota"] == 1
