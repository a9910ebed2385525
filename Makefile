# The two commands of the README: `make run` and `make test`.
.PHONY: run test faults build fmt lint ci migrate web web-e2e validate-deploy

run:
	bash scripts/web-build.sh
	bash scripts/run-local.sh

web:
	bash scripts/web-build.sh

web-e2e:
	bash scripts/web-e2e.sh

test:
	bash scripts/ensure-deps.sh
	cargo test --workspace --no-fail-fast

# Fault drills against real redis-server/PostgreSQL processes (issue 14; README "Reliability").
# FAULT_RUNS=20 make faults repeats them; FAULT_SEED=<n> replays a run's random moments.
faults:
	bash scripts/ensure-deps.sh
	cargo test -p api-service --test faults --no-run
	for i in $$(seq $${FAULT_RUNS:-1}); do \
		echo "== fault drills, run $$i of $${FAULT_RUNS:-1}"; \
		cargo test -p api-service --test faults -- --ignored --nocapture --test-threads=1 || exit 1; \
	done

build:
	cargo build --workspace --bins

fmt:
	cargo fmt --all

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

migrate:
	cargo run -p api-service -- migrate

ci:
	bash .ci/run

# Static checks of docker-compose.dev.yml, deploy/ and kubernetes/ (no Docker or cluster needed).
validate-deploy:
	bash scripts/validate-deploy.sh
