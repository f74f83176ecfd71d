"""Running and operating PostgreSQL: the embedded server, its upgrade, migrations,
backup and restore, the health check.

Imports run one way, down this list: embedded (the shared server a process joins) →
upgrade (a folder of 16 brought to 18) → server (one folder's process: start, find,
stop) → programs (the wheel's binaries, run as the server's user) → system_user (as
root: the system user, its folder under /var/lib and its copy of the binaries).
users_file stands alone under embedded; backup uses programs, health_check and migrate.
"""
