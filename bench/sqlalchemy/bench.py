"""The SQLAlchemy 1.4 peer of inkwell's benchmark (bench/cmd/bench).

Runs one operation n times on a database the Go runner prepared, through the
ORM as the tutorials use it (declarative models, sessions, relationships),
and prints {"ns_per_op": ..., "round_trips_per_op": ...} as JSON.

Round trips are counted as the statements psycopg2 sends (each execute, each
row of an executemany, each page of execute_values) plus BEGIN and COMMIT or
ROLLBACK.
"""

import argparse
import json
import sys
import time
import unicodedata
from urllib.parse import urlsplit, urlunsplit

import psycopg2.extensions
import sqlalchemy
from sqlalchemy import Boolean, Column, DateTime, Float, ForeignKey, ForeignKeyConstraint, Integer, String, event, func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, declarative_base, joinedload, relationship, selectinload

assert sqlalchemy.__version__.startswith("1.4"), sqlalchemy.__version__

Base = declarative_base()


class User(Base):
    __tablename__ = "users"
    id = Column(Integer, primary_key=True)
    name = Column(String, nullable=False)
    age = Column(Integer, nullable=False, default=0)
    created_at = Column(DateTime(timezone=True), server_default=func.now())
    addresses = relationship("Address", back_populates="user", order_by="Address.id")
    posts = relationship("Post", back_populates="user", order_by="Post.id")


class Address(Base):
    """Keyed (user_id, id) as the table is; id is the identity column, read back by RETURNING."""

    __tablename__ = "addresses"
    user_id = Column(Integer, ForeignKey("users.id"), primary_key=True)
    id = Column(Integer, primary_key=True, autoincrement=True)
    email = Column(String, nullable=False)
    user = relationship("User", back_populates="addresses")
    owner = relationship("EmailOwner", uselist=False, back_populates="address", cascade="all, delete-orphan")


class EmailOwner(Base):
    """The email_owners row of an address: the unit of work inserts it after its address, with the address's key."""

    __tablename__ = "email_owners"
    __table_args__ = (
        ForeignKeyConstraint(["user_id", "address_id"], ["addresses.user_id", "addresses.id"], ondelete="CASCADE"),
    )
    email_key = Column(String, primary_key=True)
    user_id = Column(Integer, nullable=False)
    address_id = Column(Integer, nullable=False)
    address = relationship("Address", back_populates="owner")


def email_key(email):
    """The schema's email_key(email) in Python: NFC, lower case (full mappings), final sigma as sigma."""
    return unicodedata.normalize("NFC", email).lower().replace("ς", "σ")


def address(email):
    """An address with its email_owners row."""
    return Address(email=email, owner=EmailOwner(email_key=email_key(email)))


class Post(Base):
    __tablename__ = "posts"
    user_id = Column(Integer, ForeignKey("users.id"), primary_key=True)
    id = Column(Integer, primary_key=True, autoincrement=True)
    title = Column(String, nullable=False)
    content = Column(String, nullable=False, default="")
    published = Column(Boolean, nullable=False, default=False)
    rating = Column(Float, nullable=False, default=0)
    created_at = Column(DateTime(timezone=True), server_default=func.now())
    user = relationship("User", back_populates="posts")


trips = 0


class CountingCursor(psycopg2.extensions.cursor):
    def execute(self, query, vars=None):
        global trips
        trips += 1
        return super().execute(query, vars)

    def executemany(self, query, vars_list):
        global trips
        vars_list = list(vars_list)
        trips += len(vars_list)
        return super().executemany(query, vars_list)


def engine_for(url, pool_size):
    parts = urlsplit(url)
    url = urlunsplit(("postgresql+psycopg2",) + tuple(parts[1:]))
    engine = sqlalchemy.create_engine(
        url, pool_size=pool_size, max_overflow=0, connect_args={"cursor_factory": CountingCursor}
    )

    @event.listens_for(engine, "begin")
    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def count(conn):
        global trips
        trips += 1

    return engine


READERS = 1000  # users the runner put in the read operations' databases


def users_of(size, tag):
    return [dict(name=f"User {tag} {i}", age=18 + i % 70) for i in range(size)]


def run(op, engine, n, size, tag, warm_up):
    def one(i):
        if op == "insert":
            with Session(engine) as s:
                s.add(User(name=f"One {i}", age=30))
                s.commit()
        elif op == "get":
            with Session(engine) as s:
                assert s.get(User, 1 + i % READERS) is not None
        elif op == "update":
            with Session(engine) as s:  # the tutorials' way: load, change, commit
                u = s.get(User, 1 + i % READERS)
                u.age = 20 + i % 50
                s.commit()
        elif op == "bulk":
            with Session(engine) as s:
                s.bulk_insert_mappings(User, users_of(size, tag))
                s.commit()
        elif op == "bulk-naive":
            with Session(engine) as s:
                for row in users_of(size, tag):
                    s.add(User(**row))
                    s.flush()  # one INSERT each
                s.commit()
        elif op == "graph":
            with Session(engine) as s:
                s.add_all(
                    User(
                        name=row["name"],
                        age=row["age"],
                        addresses=[address(f"u{tag}.{j}@example.com"), address(f"u{tag}.{j}@work.example")],
                    )
                    for j, row in enumerate(users_of(size, tag))
                )
                s.commit()
        elif op in ("list-joined", "list-selectin", "list-naive"):
            with Session(engine) as s:
                q = s.query(User).order_by(User.id).limit(100)
                if op == "list-joined":
                    q = q.options(joinedload(User.addresses))
                elif op == "list-selectin":
                    q = q.options(selectinload(User.addresses))
                loaded = sum(len(u.addresses) for u in q.all())  # lazy loads, one query per user, for list-naive
                assert loaded == 200, loaded
        elif op == "page-posts":
            with Session(engine) as s:
                users = (
                    s.query(User).filter(User.id > 0).order_by(User.id).limit(100).options(selectinload(User.posts)).all()
                )
                assert sum(len(u.posts) for u in users) == 200
        elif op == "register":
            with Session(engine) as s:
                s.add(User(name="New", age=30, addresses=[address(f"n{i}@example.com"), address(f"n{i}@work.example")]))
                s.commit()
        elif op == "register-taken":
            with Session(engine) as s:
                s.add(User(name="Dup", age=30, addresses=[address(f"d{i}@example.com"), address("r1@example.com")]))
                try:
                    s.commit()
                except IntegrityError:
                    s.rollback()
                else:
                    raise AssertionError("a taken email was accepted")
        else:
            raise SystemExit(f"unknown operation {op}")

    for i in range(n, n + warm_up):  # untimed, after the timed calls' indexes, as the Go peers do
        one(i)
    global trips
    trips = 0
    start = time.perf_counter_ns()
    for i in range(n):
        one(i)
    elapsed = time.perf_counter_ns() - start
    if op == "register-taken":
        with Session(engine) as s:
            assert s.query(User).filter(User.name == "Dup").count() == 0
    elif op == "register":
        with Session(engine) as s:
            assert s.query(Address).join(User).filter(User.name == "New").count() == 2 * (n + warm_up)
    elif op == "graph":
        with Session(engine) as s:
            assert s.query(Address).count() == 2 * size
    return {"ns_per_op": elapsed / n, "round_trips_per_op": trips / n}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--op", required=True)
    parser.add_argument("--n", type=int, default=1)
    parser.add_argument("--size", type=int, default=0)
    parser.add_argument("--tag", default="0")
    parser.add_argument("--pool-size", type=int, default=4)
    parser.add_argument("--warm-up", type=int, default=0, help="untimed calls before the timed ones")
    args = parser.parse_args()
    engine = engine_for(args.url, args.pool_size)
    with engine.connect() as conn:  # connect before timing, as the Go peers do
        conn.execute(sqlalchemy.text("SELECT 1"))
    result = run(args.op, engine, args.n, args.size, args.tag, args.warm_up)
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
