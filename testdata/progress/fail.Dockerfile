# A step that fails while another runs beside it (then CANCELED).
ARG BASE=127.0.0.1:5000/base/busybox:latest
FROM $BASE AS slow
ARG NONCE
RUN sleep 30; echo "$NONCE"
FROM $BASE AS bad
ARG NONCE
RUN echo "about to fail $NONCE"; sleep 0.3; exit 3
FROM $BASE
COPY --from=slow /etc/passwd /s
COPY --from=bad /etc/passwd /b
