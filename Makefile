# The two commands of the README: `make run` and `make test`.
.PHONY: run test build fmt lint ci migrate web web-e2e validate-deploy

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
