"""The drift scan pauses the cyclic garbage collector while it builds and judges its lists
(decoding thousands of objects made the collector walk the heap over and over), and
overlapping scans leave it as they found it."""

import gc

from bot.drift.scan import _collector_paused


def test_overlapping_scans_resume_the_collector_once_both_end() -> None:
    assert gc.isenabled()
    first, second = _collector_paused(), _collector_paused()
    first.__enter__()
    assert not gc.isenabled()
    second.__enter__()
    first.__exit__(None, None, None)  # the first scan ends while the second runs
    assert not gc.isenabled()
    second.__exit__(None, None, None)
    assert gc.isenabled()


def test_a_collector_turned_off_by_the_process_stays_off() -> None:
    gc.disable()
    try:
        with _collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
