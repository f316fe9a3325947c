"""Resource names: `<project>_<stage>_<block>`, one per (project, stage, block), shortened with a hash past AWS's
limits, stages checked; the names global to an account (roles, buckets) carry the region."""

from __future__ import annotations

import itertools
import re

import pytest

from refinery_tui.cloud.naming import LIMITS, Names, NamingError

LONG_PROJECT = "p" * 40
LONG_BLOCK = "b" * 48


def test_short_names_are_kept_whole():
    names = Names("orders", "dev", "us-east-1")
    assert names.function("price-item") == "orders_dev_price-item"
    assert names.log_group("price-item") == "/aws/lambda/orders_dev_price-item"
    assert names.role("price-item") == "orders_dev_us-east-1_price-item"
    assert names.table() == "orders_dev_state"
    assert names.role_path == "/refinery/orders/dev/"
    assert re.fullmatch(r"orders-dev-us-east-1-payloads-123456789012-[0-9a-f]{8}", names.bucket("123456789012"))


def test_long_names_fit_and_stay_distinct_and_stable():
    names = Names(LONG_PROJECT, "staging-eu-west-1", "us-east-1")
    made = {}
    for kind in ("function", "role", "queue", "rule"):
        for suffix in ("x", "y"):
            name = getattr(names, kind)(LONG_BLOCK + suffix)
            assert len(name) <= LIMITS[kind]
            assert name == getattr(Names(LONG_PROJECT, "staging-eu-west-1", "us-east-1"), kind)(LONG_BLOCK + suffix)
            made[(kind, suffix)] = name
    assert made[("function", "x")] != made[("function", "y")]
    assert len(names.function(LONG_BLOCK + "x")) == 64
    assert len(names.bucket("123456789012")) <= 63


@pytest.mark.parametrize("stage", ["", "Dev", "dev_1", "-dev", "dev-", "a" * 21, "dév", "dev.a"])
def test_bad_stages_are_refused_with_a_hint(stage):
    with pytest.raises(NamingError, match="for example: dev, prod, pr-42"):
        Names("orders", stage, "us-east-1")


def test_tags_name_the_project_stage_kind_and_block():
    tags = Names("orders", "dev", "us-east-1").tags("function", "price-item", "abc")
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
        names = Names(project, stage, "us-east-1")
        yield (project, stage, None), "table", names.table()
        yield (project, stage, None), "api", names.api()
        yield (project, stage, None), "bucket", names.bucket(ACCOUNT)
        yield (project, stage, "eu-west-1"), "bucket", Names(project, stage, "eu-west-1").bucket(ACCOUNT)
        for block in BLOCKS:
            for kind in PER_BLOCK:
                yield (project, stage, block), kind, getattr(names, kind)(block)


def test_names_are_one_to_one_over_project_stage_and_block_for_every_kind():
    seen: dict[tuple[str, str], tuple] = {}
    for owner, kind, name in every_name():
        assert seen.setdefault((kind, name), owner) == owner, f"{kind} {name}: {owner} and {seen[(kind, name)]}"
    assert len(seen) == sum(1 for _ in every_name())


def test_the_issue_collisions_are_gone():
    assert Names("shop", "dev", "us-east-1").function("a-b") != Names("shop", "dev-a", "us-east-1").function("b")
    assert Names("shop", "dev", "us-east-1").function("a-b") != Names("shop-dev", "a", "us-east-1").function("b")
    assert Names("shop", "dev-a", "us-east-1").table() != Names("shop-dev", "a", "us-east-1").table()
    assert Names("shop", "dev-a", "us-east-1").bucket(ACCOUNT) != Names("shop-dev", "a", "us-east-1").bucket(ACCOUNT)


def test_every_name_fits_its_kind_and_starts_with_the_listing_prefix():
    for (project, stage, _), kind, name in every_name():
        assert len(name) <= LIMITS[kind], (kind, name)
        names = Names(project, stage, "us-east-1")
        if kind == "bucket":
            assert re.fullmatch(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]", name), name
        elif kind == "log_group":
            assert re.fullmatch(r"[\w/.#-]+", name) and name.startswith(names.list_prefix(kind)), name
        else:
            assert re.fullmatch(r"[a-zA-Z0-9_-]+", name), name
            assert name.startswith(names.list_prefix(kind)), (kind, name, names.list_prefix(kind))


def test_a_listing_prefix_is_whole_when_nothing_is_cut():
    assert Names("shop", "dev", "us-east-1").list_prefix("function") == "shop_dev_"
    assert (
        not Names("shop", "dev-a", "us-east-1")
        .function("b")
        .startswith(Names("shop", "dev", "us-east-1").list_prefix("function"))
    )
    assert Names("shop", "dev", "us-east-1").list_prefix("log_group") == "/aws/lambda/shop_dev_"


def test_a_project_name_with_an_underscore_is_refused():
    with pytest.raises(NamingError, match="cannot be part of an AWS name"):
        Names("shop_dev", "a", "us-east-1")


def test_global_names_differ_by_region_and_regional_ones_do_not():
    east, west = Names("orders", "dev", "us-east-1"), Names("orders", "dev", "eu-west-1")
    assert east.role("a") != west.role("a") and east.bucket(ACCOUNT) != west.bucket(ACCOUNT)
    assert west.role("a") == "orders_dev_eu-west-1_a"
    assert (east.function("a"), east.queue("a"), east.table()) == (west.function("a"), west.queue("a"), west.table())
    assert east.role_path == west.role_path  # roles are listed together and told apart by the region's tag
    long = Names("p" * 40, "s" * 20, "ap-southeast-2")
    assert len(long.role("b" * 48)) <= 64 and len(long.bucket(ACCOUNT)) <= 63
    assert long.role("b" * 48) != Names("p" * 40, "s" * 20, "ap-southeast-1").role("b" * 48)


def test_a_stage_owns_its_regions_resources_and_untagged_older_ones_not_another_regions():
    east, west = Names("orders", "dev", "us-east-1"), Names("orders", "dev", "eu-west-1")
    assert east.tags("role", "a")["refinery:region"] == east.tags("bucket")["refinery:region"] == "us-east-1"
    assert "refinery:region" not in east.tags("function", "a")  # regional: its ARN already holds the region
    assert east.owns(east.tags("role", "a")) and not west.owns(east.tags("role", "a"))
    older = {k: v for k, v in east.tags("role", "a").items() if k != "refinery:region"}
    assert east.owns(older) and west.owns(older)


def test_the_bucket_name_of_a_deploy_before_regions_is_still_known():
    # The name every deploy made before names carried the region, kept to find (and replace) those buckets.
    assert Names("orders", "dev", "eu-west-1").regionless_bucket(ACCOUNT) == "orders-dev-payloads-123456789012-8126264a"


@pytest.mark.parametrize("region", ["", "US-EAST-1", "east", "us_east_1"])
def test_bad_regions_are_refused(region):
    with pytest.raises(NamingError, match="for example: us-east-1"):
        Names("orders", "dev", region)
