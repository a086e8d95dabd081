"""The content store every content handler reads, as the `store` dependency."""

from __future__ import annotations

from litestar.datastructures import State

from api.storage.reader import Store


async def provide_store(state: State) -> Store:
    """The store the app opened at start-up, or, if there was no database then, one
    opened now."""
    store: Store | None = state.get("store")
    if store is None:
        # The server may have started before the first build; look again on each request.
        store = await Store.open(state.settings.db_path)
        store.review_policy = state.settings.review_policy
        state.store = store
    return store
