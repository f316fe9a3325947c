"""Resource names: `<project>_<stage>_<block>`, one per (project, stage, block), shortened with a hash past AWS's
limits, stages checked."""

from __future__ import annotations

import itertools
import re

import pytest

from refinery_tui.cloud.naming import LIMITS, Names, NamingError

LONG_PROJECT = "p" * 40
LONG_BLOCK = "b" * 48


def test_short_names_are_kept_whole():
    names = Names("orders", "dev")
    assert names.function("price-item") == "orders_dev_price-item"
    assert names.log_group("price-item") == "/aws/lambda/orders_dev_price-item"
    assert names.role("price-item") == "orders_dev_price-item"
    assert names.table() == "orders_dev_state"
    assert names.role_path == "/refinery/orders/dev/"
    assert re.fullmatch(r"orders-dev-payloads-123456789012-[0-9a-f]{8}", names.bucket("123456789012"))


def test_long_names_fit_and_stay_distinct_and_stable():
    names = Names(LONG_PROJECT, "staging-eu-west-1")
    made = {}
    for kind in ("function", "role", "queue", "rule"):
        for suffix in ("x", "y"):
            name = getattr(names, kind)(LONG_BLOCK + suffix)
            assert len(name) <= LIMITS[kind]
            assert name == getattr(Names(LONG_PROJECT, "staging-eu-west-1"), kind)(LONG_BLOCK + suffix)
            made[(kind, suffix)] = name
    assert made[("function", "x")] != made[("function", "y")]
    assert len(names.function(LONG_BLOCK + "x")) == 64
    assert len(names.bucket("123456789012")) <= 63


@pytest.mark.parametrize("stage", ["", "Dev", "dev_1", "-dev", "dev-", "a" * 21, "dév", "dev.a"])
def test_bad_stages_are_refused_with_a_hint(stage):
    with pytest.raises(NamingError, match="for example: dev, prod, pr-42"):
        Names("orders", stage)


def test_tags_name_the_project_stage_kind_and_block():
    tags = Names("orders", "dev").tags("function", "price-item", "abc")
    assert tags == {
        "refinery:project": "orders",
        "refinery:stage": "dev",
        "refinery:kind": "function",
        "refinery:managed-by": "refinery-tui",
        "refinery:block": "price-item",
        "refinery:spec": "abc",
    }


ACCOUNT = "123456789012"
PER_BLOCK = ("function", "role", "queue", "topic", "rule", "log_group")
# Projects, stages and blocks whose `-`-joined names meet: shop/dev + a-b, shop/dev-a + b, shop-dev/a + b, ...
PROJECTS = ("shop", "shop-dev", "shop-dev-a", "p" * 40, "p" * 39 + "-")
STAGES = ("dev", "dev-a", "a", "a-b", "s" * 20, "s" * 19 + "x")
BLOCKS = ("a-b", "b", "a", "dev-a-b", "state", "http", "b" * 48, "b" * 47 + "c")


def every_name():
    for project, stage in itertools.product(PROJECTS, STAGES):
        if project.endswith("-"):
            continue
        names = Names(project, stage)
        yield (project, stage, None), "table", names.table()
        yield (project, stage, None), "api", names.api()
        yield (project, stage, None), "bucket", names.bucket(ACCOUNT)
        for block in BLOCKS:
            for kind in PER_BLOCK:
                yield (project, stage, block), kind, getattr(names, kind)(block)


def test_names_are_one_to_one_over_project_stage_and_block_for_every_kind():
    seen: dict[tuple[str, str], tuple] = {}
    for owner, kind, name in every_name():
        assert seen.setdefault((kind, name), owner) == owner, f"{kind} {name}: {owner} and {seen[(kind, name)]}"
    assert len(seen) == sum(1 for _ in every_name())


def test_the_issue_collisions_are_gone():
    assert Names("shop", "dev").function("a-b") != Names("shop", "dev-a").function("b")
    assert Names("shop", "dev").function("a-b") != Names("shop-dev", "a").function("b")
    assert Names("shop", "dev-a").table() != Names("shop-dev", "a").table()
    assert Names("shop", "dev-a").bucket(ACCOUNT) != Names("shop-dev", "a").bucket(ACCOUNT)


def test_every_name_fits_its_kind_and_starts_with_the_listing_prefix():
    for (project, stage, _), kind, name in every_name():
        assert len(name) <= LIMITS[kind], (kind, name)
        names = Names(project, stage)
        if kind == "bucket":
            assert re.fullmatch(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]", name), name
        elif kind == "log_group":
            assert re.fullmatch(r"[\w/.#-]+", name) and name.startswith(names.list_prefix(kind)), name
        else:
            assert re.fullmatch(r"[a-zA-Z0-9_-]+", name), name
            assert name.startswith(names.list_prefix(kind)), (kind, name, names.list_prefix(kind))


def test_a_listing_prefix_is_whole_when_nothing_is_cut():
    assert Names("shop", "dev").list_prefix("function") == "shop_dev_"
    assert not Names("shop", "dev-a").function("b").startswith(Names("shop", "dev").list_prefix("function"))
    assert Names("shop", "dev").list_prefix("log_group") == "/aws/lambda/shop_dev_"


def test_a_project_name_with_an_underscore_is_refused():
    with pytest.raises(NamingError, match="cannot be part of an AWS name"):
        Names("shop_dev", "a")
