# Container images without a cluster: the container tools, and the tests that build the three
# images and run them and their pods as Kubernetes would. `make images` itself is in
# mk/cluster.mk (it also loads the images into kind or minikube; IMAGE_LOAD=none does not).
# Walkthrough: docs/kubernetes.md, "Building and trying the images without a cluster".

##@ Containers (settings: CONTAINER_ENGINE=auto|docker|podman)

.PHONY: setup-containers test-containers

setup-containers: ## Install podman, buildah, runc and mmdebstrap with apt-get when missing (says so when it cannot).
	$(PYTHON) images/tools.py --best-effort

test-containers: setup setup-containers ## Build the three images, run them and their pods against PostgreSQL 18 (pytest -m containers).
	$(BIN)/pytest -m containers $(PYTEST_ARGS)
