"""What is built from the reader's answers is kept while the answers are the same objects, and no longer."""

from wheelstats.dashboard.derived import DerivedCache


def test_kept_while_the_sources_are_the_same_objects_and_rebuilt_for_equal_copies():
    cache = DerivedCache(entries=2)
    builds = []

    def build(value):
        def make():
            builds.append(value)
            return f"page of {value}"
        return make

    answer = {"downloads": 3}
    assert cache.get("home", (answer,), build(answer)) == "page of {'downloads': 3}"
    assert cache.get("home", (answer,), build(answer)) == "page of {'downloads': 3}"
    assert builds == [answer]  # built once
    newer = {"downloads": 3}  # equal, but another answer (the store changed and was read again)
    cache.get("home", (newer,), build(newer))
    assert len(builds) == 2 and builds[1] is newer
    assert cache.get("home", (newer, True), build(newer)) and len(builds) == 3  # other sources: rebuilt


def test_one_value_per_key_and_a_bounded_number_of_keys():
    cache = DerivedCache(entries=2)
    sources = [object() for _ in range(3)]
    built = []
    for number, source in enumerate(sources):
        cache.get(("chart", number), (source,), lambda number=number: built.append(number))
    assert len(cache) == 2
    cache.get(("chart", 2), (sources[2],), lambda: built.append(2))
    cache.get(("chart", 0), (sources[0],), lambda: built.append(0))
    assert built == [0, 1, 2, 0]  # the least recently used (chart 0) went, chart 2 was kept
    for _ in range(5):  # a key whose answer keeps changing holds one value, not one per answer
        cache.get(("chart", 2), (object(),), lambda: "new")
    assert len(cache) == 2
