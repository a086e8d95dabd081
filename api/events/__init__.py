"""Events: every change as one event, pulled from GET /v1/events or pushed as signed webhooks.

- `log`: the state store, the producer (`announce`, `record_transition`) and the pull log;
- `outbox`: what each webhook endpoint is owed, claimed with leases;
- `webhooks`: the endpoints file and Standard Webhooks signatures;
- `dispatch`: the sender each server process runs.
"""
