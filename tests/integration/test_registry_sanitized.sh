#!/bin/bash
# test_registry.sh with the agent and `steer register` built with ASan and
# UBSan: the etcd client, the watcher and the store under every registry
# event the test makes (listing, watch, leader loss, quorum loss, outage,
# bad values), then no sanitizer report and no leak.
REGISTRY_SANITIZED=1 exec bash "$(dirname "$0")/test_registry.sh"
