# Forescale's images: `--target controller` (forescale-controller) and `--target trainer` (forescale-trainer), from
# one build stage. `make images` builds both (podman or docker); the Swift version below is the one the tests run
# with (ContainerImageTests compares it with `swift --version`), and this line is the only place that states it.
FROM docker.io/library/swift:6.3.1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libcurl4-openssl-dev libssl-dev libxml2-dev pkg-config make && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN make image-binaries

# What both images run on: the libraries the static binaries need (ContainerImageTests checks them), CA
# certificates, time zones, and a non-root user.
FROM docker.io/library/debian:bookworm-slim AS runtime
RUN apt-get update && apt-get install -y --no-install-recommends libcurl4 libssl3 libxml2 ca-certificates tzdata && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 65532 --no-create-home --shell /usr/sbin/nologin forescale
COPY --from=build /src/Models /models
USER 65532

FROM runtime AS trainer
COPY --from=build /src/.build/release/forescale-trainer /usr/local/bin/forescale-trainer
ENTRYPOINT ["/usr/local/bin/forescale-trainer"]

FROM runtime AS controller
COPY --from=build /src/.build/release/forescale-controller /usr/local/bin/forescale-controller
ENTRYPOINT ["/usr/local/bin/forescale-controller"]
