"""SessionDB.locate_message: a message's session and its position in the transcript."""

from __future__ import annotations

from sessiondb import MessageType

from helpers import add_session, msg


def test_position_is_the_list_messages_offset(db):
    add_session(db, "s1", ["a", "b", "c"])
    pid = add_session(db, "s2", ["x"])
    # equal sequence numbers are ordered by insertion, as list_messages orders them
    db.insert_messages("s2", [msg("s2-late", "y", seq=0, role=MessageType.ASSISTANT), msg("s2-first", "w", seq=-1)])
    assert pid
    for session in ("s1", "s2"):
        for offset, message in enumerate(db.list_messages(session)):
            assert db.locate_message(message.id) == (session, offset)
            assert db.list_messages(session, limit=1, offset=offset)[0].id == message.id


def test_unknown_message(db):
    add_session(db, "s1", ["a"])
    assert db.locate_message(10 ** 9) is None
