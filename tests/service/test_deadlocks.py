"""Two writers that deadlock both finish: whichever Neo4j picks as the victim is run again.

Here the driver retries the victim itself. Under the 20-thread sync test a deadlock once reached it as
ResultFailedError instead (raised by the rollback that drains the failed result), which the driver does not
retry; Graph.write retries that too (service/db.py). This test does not reproduce that path.
"""

import threading

from service import db
from tests.conftest import TEST_QUERIES


def test_two_writers_locking_in_opposite_order_both_commit(graph, new_member):
    first, second = new_member("Ada")["id"], new_member("Grace")["id"]
    barrier = threading.Barrier(2, timeout=30)
    attempts = {"ab": 0, "ba": 0}
    outcomes: dict[str, object] = {}

    def lock(tx, member_id):
        return tx.run(TEST_QUERIES["test_lock_member"].text, id=member_id).single(strict=True)[0]

    def writer(name: str, order: tuple[str, str]):
        def work(tx):
            attempts[name] += 1
            held = lock(tx, order[0])
            if attempts[name] == 1:
                barrier.wait()      # both hold their first lock before either asks for its second
            return held + lock(tx, order[1])

        try:
            outcomes[name] = graph.write(work)
        except Exception as error:  # the test reports it below
            outcomes[name] = error

    threads = [threading.Thread(target=writer, args=("ab", (first, second))),
               threading.Thread(target=writer, args=("ba", (second, first)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert outcomes == {"ab": [first, second], "ba": [second, first]}
    assert max(attempts.values()) >= 2, "one of them must have been the deadlock's victim and run again"
