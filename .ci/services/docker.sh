# Docker engine and the action's image (issue 13): installs docker.io and
# debootstrap when missing, starts a private dockerd, builds the base
# stand-ins (root filesystem cached under /var/cache/tokenmint-ci) and the
# image, in the background while the tests run (scripts/container-test.sh).
# The container tests (internal/shipcheck TestContainer*) and the container
# bench run in .ci/stages/50-container.sh once it is ready; in the main test
# run they skip, saying so (TOKENMINT_TEST_DOCKER_LATER).
# shellcheck source=scripts/container-test.sh
source scripts/container-test.sh
ctr_setup_background
on_exit ctr_stop_background
export TOKENMINT_TEST_DOCKER_LATER=".ci/stages/50-container.sh"
