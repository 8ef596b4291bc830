# Stand-in for the official postgres:17-bookworm image, built from Debian's postgresql-15 for engines without a
# registry. What docker-compose.yml relies on, kept from the official image: the postgres user and group with
# uid/gid 999 (so `user: postgres` and the volume's ownership mean the same), PGDATA=/var/lib/postgresql/data
# owned by it, /var/run/postgresql for the socket, the server binaries and pg_isready on PATH, listen_addresses
# '*' in the sample config initdb copies, SIGINT (fast shutdown) as stop signal, and `docker-entrypoint.sh
# postgres` honouring POSTGRES_USER, POSTGRES_DB, POSTGRES_PASSWORD(_FILE) and PGDATA with password (scram-sha-256)
# authentication for every TCP client (postgres-entrypoint.sh). PostgreSQL 15 instead of 17: nothing here uses
# what 17 added.
FROM localhost/debian:bookworm-slim
RUN groupadd --system --gid 999 postgres \
 && useradd --system --gid postgres --uid 999 --home-dir /var/lib/postgresql --shell /bin/bash postgres \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql-common gosu \
 && sed -ri 's/#(create_main_cluster) .*$/\1 = false/' /etc/postgresql-common/createcluster.conf \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql-15 \
 && rm -rf /var/lib/apt/lists/* \
 && sed -ri "s!^#?(listen_addresses)\s*=\s*\S+.*!\1 = '*'!" /usr/share/postgresql/15/postgresql.conf.sample \
 && grep -F "listen_addresses = '*'" /usr/share/postgresql/15/postgresql.conf.sample \
 && install -d -o postgres -g postgres -m 3777 /var/run/postgresql \
 && install -d -o postgres -g postgres -m 1777 /var/lib/postgresql /var/lib/postgresql/data /docker-entrypoint-initdb.d
# The version's own binaries first: /usr/bin/pg_isready and psql are postgresql-common's wrappers, which look for
# Debian-managed clusters this image does not have.
ENV PG_MAJOR=15 PGDATA=/var/lib/postgresql/data LANG=C.UTF-8 \
    PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
VOLUME /var/lib/postgresql/data
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
STOPSIGNAL SIGINT
EXPOSE 5432
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]
