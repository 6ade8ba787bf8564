"""The infrastructure helpers: Redis (the embedded server and the shared client), the object store, the data dir
and its generated secrets, and best-effort publishing to the channel layer. They know the services, not the
platform's models; importing this package imports none of them (settings loads ``datadir`` before Django is set
up)."""
