# rcload as a container image: the one binary on distroless (glibc, no shell), run as nonroot.
#
#   docker build -t rcload:latest .
#   docker run --rm rcload:latest profiles
#   docker run --rm -v rcload-runs:/runs rcload:latest run smoke --out /runs/smoke
#
# There is no container engine on the development machines: `bash scripts/image-steps.sh`
# runs the builder stage's RUN lines below in the repository (it reads them from this file)
# and checks the runtime stage's layout, libraries and user. Keep the builder's RUN lines plain
# shell commands (no --mount, no exec form), each run from the WORKDIR: scripts/image-steps.sh
# maps the builder's WORKDIR to the repository root. docs/scale-out.md runs the image on
# Kubernetes (examples/k8s/).

# The project's toolchain is rustc 1.95; bookworm's glibc (2.36) is the runtime image's.
FROM rust:1.95-bookworm AS builder
WORKDIR /src
# The whole workspace: every member's manifest (benches/peers/goose-load too) must be there
# for cargo to read the workspace, and the binary embeds profiles/ and docs/mock.md.
# .dockerignore leaves out target/, reports/ and .git.
COPY . .
RUN cargo build --release --locked -p rcload --bin rcload
# An empty directory for the runtime's /runs, copied with nonroot's ownership: a WORKDIR that
# creates /runs itself leaves it owned by root on some builders (kaniko, the classic builder).
RUN mkdir -p target/image-runs

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=builder /src/target/release/rcload /usr/local/bin/rcload
COPY --from=builder --chown=65532:65532 /src/target/image-runs /runs
# nonroot:nonroot of the distroless image, given as numbers so that Kubernetes'
# `runAsNonRoot` can check it without looking up a name.
USER 65532:65532
WORKDIR /runs
ENTRYPOINT ["/usr/local/bin/rcload"]
CMD ["--help"]
