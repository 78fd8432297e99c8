# shellcheck shell=bash
# Sourced (not executed) by the official MariaDB image's entrypoint on the
# first start of an empty data volume: one database and one user per service,
# each user limited to its own database (migrations need DDL on it). The
# passwords come from the mounted secret files, never from the environment.
# docker_process_sql is the entrypoint's own helper (runs as root).

for svc in customers opportunities complaints scheduling; do
  password_file=/run/secrets/db-$svc-password
  if [ ! -s "$password_file" ]; then
    echo "10-crm-databases.sh: $password_file is missing; run deploy/compose/dev-keys.sh" >&2
    exit 1
  fi
  # SQL string literal: double every backslash and single quote.
  password=$(sed -e 's/\\/\\\\/g' -e "s/'/''/g" "$password_file")
  docker_process_sql <<SQL
CREATE DATABASE IF NOT EXISTS crm_$svc CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS 'crm_$svc'@'%' IDENTIFIED BY '$password';
GRANT ALL PRIVILEGES ON crm_$svc.* TO 'crm_$svc'@'%';
SQL
done
unset svc password password_file
