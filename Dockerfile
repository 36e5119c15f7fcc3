# syntax=docker/dockerfile:1
#
# One Berth function app in a small image: built with the Rust toolchain, run as a non-root
# user on distroless (glibc, CA certificates, no shell). Every setting comes from the
# environment: app settings by name (ServiceBusConnection=…, or
# ServiceBusConnection__fullyQualifiedNamespace=… for identity-based connections) and host
# settings as BERTH__<table>__<key> (see "Configuration from the environment" in README.md).
#
#   docker build -t orders-app .                                   # the quickstart app
#   docker build --build-arg APP=topic_sessions -t events-app .    # another package
#   docker run --rm -e ServiceBusConnection='Endpoint=sb://…' -p 8080:8080 orders-app
#
# APP is the workspace package to build; its binary must have the same name (the examples'
# do). A host.toml is optional: mount one and point BERTH_CONFIG at it.
#
# The image runs against a real Service Bus namespace, so it is built without the embedded
# broker (`--no-default-features`: the examples forward berth-host's `embedded-broker` from
# their default features); a function without a connection setting stops `start` with an
# error naming the setting.

ARG APP=servicebus_sessions

FROM rust:1-slim-bookworm AS build
ARG APP
# No debug info in the image (76 MB → 16 MB for the quickstart); symbols stay, so panic
# backtraces still name functions.
ENV CARGO_PROFILE_RELEASE_DEBUG=none \
    CARGO_PROFILE_RELEASE_STRIP=debuginfo
WORKDIR /src
COPY . .
# The registry, git checkouts and target directory are cached between builds; the binary is
# copied out of the cache mount so the next stage can take it.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked --package "$APP" --bin "$APP" --no-default-features \
    && install -D -m 0755 "target/release/$APP" /out/app

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/app /app
USER nonroot:nonroot
WORKDIR /home/nonroot
# JSON log lines for the collector, and the ops listener (/healthz, /readyz, /metrics).
ENV BERTH__logging__format=json \
    BERTH__ops__address=0.0.0.0:8080
EXPOSE 8080
# SIGTERM drains: no new sessions, in-flight invocations finish within shutdown_timeout,
# sessions are released; a second signal exits at once.
STOPSIGNAL SIGTERM
# No curl on distroless: the app probes its own /healthz (`host health`).
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 CMD ["/app", "health"]
ENTRYPOINT ["/app", "start"]
