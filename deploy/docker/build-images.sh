#!/usr/bin/env bash
# Builds the five images (crm/<svc>:<tag>) from deploy/docker/Dockerfile with
# whichever engine this machine has: docker (BuildKit), else buildah.
#
#   deploy/docker/build-images.sh [--tag TAG] [--debootstrap-base]
#
# --debootstrap-base: for machines that reach Debian's mirror but no image
#   registry (a sandbox, an air-gapped builder). Makes a local debian:12 and
#   debian:12-slim from `debootstrap --variant=minbase bookworm` (so the
#   runtime images are ~130 MB larger than on the real slim image) and builds
#   with buildah's chroot isolation, which needs no OCI runtime or cgroups.
#   Needs root, buildah and debootstrap.
set -euo pipefail

cd "$(dirname -- "$(realpath -- "${BASH_SOURCE[0]}")")/../.."
readonly SERVICES=(customers opportunities complaints scheduling gateway)
TAG=dev
DEBOOTSTRAP_BASE=false
while (($#)); do
  case $1 in
    --tag) TAG=$2; shift 2 ;;
    --debootstrap-base) DEBOOTSTRAP_BASE=true; shift ;;
    *) sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done

die() { echo "build-images.sh: $*" >&2; exit 1; }

if ! $DEBOOTSTRAP_BASE && command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  for svc in "${SERVICES[@]}"; do
    DOCKER_BUILDKIT=1 docker build -f deploy/docker/Dockerfile --target "$svc" -t "crm/$svc:$TAG" .
  done
  exit 0
fi

command -v buildah >/dev/null || die "neither a running docker nor buildah is available"
buildah_args=(--layers -f deploy/docker/Dockerfile)
if $DEBOOTSTRAP_BASE; then
  command -v debootstrap >/dev/null || die "--debootstrap-base needs debootstrap (apt-get install debootstrap)"
  if ! buildah inspect --type image docker.io/library/debian:12 >/dev/null 2>&1; then
    rootfs=$(mktemp -d)
    trap 'rm -rf -- "$rootfs"' EXIT
    debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian
    ctr=$(buildah from scratch)
    mnt=$(buildah mount "$ctr")
    cp -a -- "$rootfs/." "$mnt/"
    buildah umount "$ctr" >/dev/null
    buildah commit -q "$ctr" docker.io/library/debian:12 >/dev/null
    buildah rm "$ctr" >/dev/null
    buildah tag docker.io/library/debian:12 docker.io/library/debian:12-slim
  fi
  # The base images are local; RUN steps run in a chroot on the host network.
  buildah_args+=(--pull=never --isolation chroot)
fi
# With --layers the build stage is built once and reused by the other four.
for svc in "${SERVICES[@]}"; do
  buildah bud "${buildah_args[@]}" --target "$svc" -t "crm/$svc:$TAG" .
done
