"""The watermark: a checkpoint never claims a page that is not written."""

from async_core.run.state import SyncState, TableProgress


def test_out_of_order_pages_move_the_mark_only_when_contiguous() -> None:
    """Pages 3 and 2 written before 1: the mark stays at 1 until page 1 lands, then jumps to 4."""
    progress = TableProgress()
    progress.mark_written(3)
    progress.mark_written(2)
    assert progress.next_page == 1
    progress.mark_written(1)
    assert progress.next_page == 4
    assert progress.written == set()


def test_a_lost_page_holds_the_mark() -> None:
    """Page 2 lost, page 3 written: the checkpoint says page 2 is next."""
    progress = TableProgress()
    progress.set_last_page(3)
    progress.mark_written(1)
    progress.mark_lost(2)
    progress.mark_written(3)
    assert progress.next_page == 2
    assert not progress.complete


def test_complete_once_every_page_up_to_the_last_is_written() -> None:
    """Complete means: the last page is known and the mark is past it."""
    progress = TableProgress()
    progress.mark_written(1)
    progress.mark_written(2)
    assert not progress.complete
    progress.set_last_page(2)
    assert progress.complete


def test_an_empty_collection_is_complete() -> None:
    """Total 0: last page 0; the empty first page completes it."""
    progress = TableProgress()
    progress.mark_written(1)
    progress.set_last_page(0)
    assert progress.complete


def test_fresh_state_starts_every_table_at_page_one() -> None:
    """No state: a new cycle."""
    state = SyncState.resume(None, tables=("users", "posts"), page_size=25, now="T0")
    assert state.checkpoint() == {
        "version": 1,
        "cycle": {
            "started_at": "T0",
            "page_size": 25,
            "tables": {"posts": {"next_page": 1, "complete": False}, "users": {"next_page": 1, "complete": False}},
        },
    }


def test_resume_takes_up_the_open_cycle() -> None:
    """An interrupted sync's state resumes where each table stopped; complete tables stay complete."""
    saved = {
        "version": 1,
        "cycle": {
            "started_at": "T0",
            "page_size": 25,
            "tables": {"users": {"next_page": 2, "complete": True}, "comments": {"next_page": 13, "complete": False}},
        },
    }
    state = SyncState.resume(saved, tables=("users", "posts", "comments"), page_size=25, now="T1")
    assert state.started_at == "T0"
    assert state.tables["users"].complete
    assert state.tables["comments"].next_page == 13
    assert state.tables["posts"].next_page == 1


def test_a_complete_pass_starts_a_new_cycle() -> None:
    """After a complete sync the next one makes a full pass: JSONPlaceholder has no change cursor."""
    state = SyncState.resume(SyncState.completed("T9"), tables=("users",), page_size=25, now="T10")
    assert state.started_at == "T10"
    assert state.tables["users"].next_page == 1
    assert not state.tables["users"].complete


def test_a_changed_page_size_keeps_the_rows_already_written() -> None:
    """12 pages of 25 = 300 rows written; with pages of 100 the next page is 4 (rows 301..400)."""
    saved = {"cycle": {"page_size": 25, "tables": {"comments": {"next_page": 13, "complete": False}}}}
    state = SyncState.resume(saved, tables=("comments",), page_size=100, now="T1")
    assert state.tables["comments"].next_page == 4
    saved_partial = {"cycle": {"page_size": 25, "tables": {"comments": {"next_page": 14, "complete": False}}}}
    state = SyncState.resume(saved_partial, tables=("comments",), page_size=100, now="T1")
    assert state.tables["comments"].next_page == 4  # 325 rows written: page 4 holds rows 301..400


def test_a_garbled_state_starts_over() -> None:
    """A state that is not ours is not trusted."""
    state = SyncState.resume(
        {"cycle": {"tables": {"users": {"next_page": "x"}}}}, tables=("users",), page_size=5, now="T"
    )
    assert state.tables["users"].next_page == 1
    assert SyncState.resume({"cycle": "nope"}, tables=("users",), page_size=5, now="T").tables["users"].next_page == 1
