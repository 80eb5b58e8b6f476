# Cluster targets: kind (or minikube, or a cloud context), the three images, the CNPG operator,
# our chart and the official Airflow chart. Included from the Makefile; usable on its own with
# `make -f mk/cluster.mk <target>`. DRY_RUN=1 prints every command instead of running it.
# Walkthrough and troubleshooting: docs/kubernetes.md.

##@ Cluster (settings: KIND_CLUSTER, KUBE_CONTEXT, NAMESPACE, IMAGE_TAG, IMAGE_LOAD, CONTAINER_ENGINE, DRY_RUN=1)

# Pinned versions: skaffold.yaml pins the same (tests/k8s keeps them equal).
AIRFLOW_CHART_VERSION ?= 1.22.0
CNPG_CHART_VERSION ?= 0.29.0# CloudNativePG operator 1.30.0

KIND_CLUSTER ?= imdb
KUBE_CONTEXT ?= kind-$(KIND_CLUSTER)
NAMESPACE ?= imdb
CNPG_NAMESPACE ?= cnpg-system
CHART_RELEASE ?= imdb-pipeline
AIRFLOW_RELEASE ?= airflow
# Values for our chart: charts/imdb-pipeline/examples/{kind,minikube,cloud}-values.yaml.
CHART_VALUES ?= charts/imdb-pipeline/examples/kind-values.yaml
AIRFLOW_VALUES ?= k8s/airflow-values.yaml
IMAGE_TAG ?= dev
# Where the built images go: kind (kind load), minikube (minikube image load) or none (pushed
# by you, e.g. with skaffold's cloud profile, or only tried locally: docs/kubernetes.md).
IMAGE_LOAD ?= kind
# What builds them: auto is docker when its daemon answers, else podman (images/engine.py).
CONTAINER_ENGINE ?= auto
DAG_ID ?= imdb_download_and_load_dag
DRY_RUN ?=

# `$(RUN) cmd` runs cmd, or with DRY_RUN=1 prints it. Recipes avoid pipes and $(...) so that
# a dry run prints exactly what would run and executes nothing.
RUN = $(if $(filter-out 0 no false,$(DRY_RUN)),@echo,)
HELM ?= helm
KUBECTL ?= kubectl
KIND ?= kind
SKAFFOLD ?= skaffold
DOCKER ?= docker
PODMAN ?= podman
# images/*.py need only the standard library: the system's Python, no virtualenv.
IMAGES_PYTHON ?= python3
MINIKUBE ?= minikube
KUBECTL_CTX = $(KUBECTL) --context $(KUBE_CONTEXT) --namespace $(NAMESPACE)
HELM_CTX = $(HELM) --kube-context $(KUBE_CONTEXT)

.PHONY: cluster cluster-down images deploy dev trigger ui logs destroy

cluster: ## Create the kind cluster (1 control plane + 1 worker, host port 8080 -> Airflow UI).
	$(RUN) $(KIND) create cluster --name $(KIND_CLUSTER) --config k8s/kind-config.yaml --wait 120s

cluster-down: ## Delete the kind cluster and everything in it.
	$(RUN) $(KIND) delete cluster --name $(KIND_CLUSTER)

# images/build.py prints its commands itself under DRY_RUN (which engine and bases it would use
# is decided by probing, so the commands are not known to make).
images: ## Build the airflow, loader and dbt images (docker, else podman; local stand-in bases if the real ones cannot be pulled) and load them into the cluster.
	@$(IMAGES_PYTHON) images/build.py --engine $(CONTAINER_ENGINE) --docker $(DOCKER) --podman $(PODMAN) \
	  --tag $(IMAGE_TAG) --load $(IMAGE_LOAD) --kind $(KIND) --kind-cluster $(KIND_CLUSTER) --minikube $(MINIKUBE) \
	  $(if $(RUN),--dry-run)

deploy: images ## Install CNPG operator, our chart, then Airflow, in order; wait for each.
	$(RUN) $(HELM) repo add cnpg https://cloudnative-pg.github.io/charts --force-update
	$(RUN) $(HELM) repo add apache-airflow https://airflow.apache.org --force-update
	$(RUN) $(HELM) repo update cnpg apache-airflow
	$(RUN) $(HELM_CTX) upgrade --install cnpg cnpg/cloudnative-pg --version $(CNPG_CHART_VERSION) \
	  --namespace $(CNPG_NAMESPACE) --create-namespace --values k8s/cnpg-values.yaml --wait --timeout 5m
	$(RUN) $(HELM_CTX) upgrade --install $(CHART_RELEASE) charts/imdb-pipeline \
	  --namespace $(NAMESPACE) --create-namespace --values $(CHART_VALUES) \
	  --set images.loader.tag=$(IMAGE_TAG) --set images.dbt.tag=$(IMAGE_TAG) \
	  --set airflow.releaseName=$(AIRFLOW_RELEASE) --wait --timeout 5m
	$(RUN) $(KUBECTL_CTX) wait clusters.postgresql.cnpg.io/imdb-warehouse clusters.postgresql.cnpg.io/airflow-metadata --for=condition=Ready --timeout=10m
	$(RUN) $(HELM_CTX) upgrade --install $(AIRFLOW_RELEASE) apache-airflow/airflow --version $(AIRFLOW_CHART_VERSION) \
	  --namespace $(NAMESPACE) --values $(AIRFLOW_VALUES) \
	  --set images.airflow.repository=imdb-pipeline-airflow --set images.airflow.tag=$(IMAGE_TAG) \
	  --wait --timeout 15m

dev: ## skaffold dev: rebuild and redeploy on every change, UI forwarded to localhost:8080.
	$(RUN) $(SKAFFOLD) dev --kube-context $(KUBE_CONTEXT) --port-forward

trigger: ## Unpause and trigger the DAG in the cluster.
	$(RUN) $(KUBECTL_CTX) exec deploy/$(AIRFLOW_RELEASE)-scheduler -c scheduler -- airflow dags unpause $(DAG_ID)
	$(RUN) $(KUBECTL_CTX) exec deploy/$(AIRFLOW_RELEASE)-scheduler -c scheduler -- airflow dags trigger $(DAG_ID)

UI_PORT ?= 8080
# On kind, k8s/kind-config.yaml already maps host port 8080 to the API server's NodePort.
ui: ## Print the admin password, then forward the UI to localhost:UI_PORT (kind: already on 8080).
	$(RUN) $(KUBECTL_CTX) get secret imdb-airflow-admin -o go-template='user {{.data.username | base64decode}} password {{.data.password | base64decode}}{{"\n"}}'
ifeq ($(IMAGE_LOAD),kind)
	@echo "kind maps the UI to http://localhost:8080 (NodePort 30080); no port-forward needed."
else
	$(RUN) $(KUBECTL_CTX) port-forward svc/$(AIRFLOW_RELEASE)-api-server $(UI_PORT):8080
endif

logs: ## Follow the logs of the loader and dbt pods (and list them).
	$(RUN) $(KUBECTL_CTX) get pods --selector app.kubernetes.io/part-of=imdb-pipeline,app.kubernetes.io/component!=warehouse
	$(RUN) $(KUBECTL_CTX) logs --selector 'app.kubernetes.io/component in (loader,dbt)' --prefix --follow --tail=100 --max-log-requests=10 --container base

destroy: ## Uninstall Airflow, our chart and the operator; delete the namespace WITH its data.
	$(RUN) $(HELM_CTX) uninstall $(AIRFLOW_RELEASE) --namespace $(NAMESPACE) --ignore-not-found --wait
	$(RUN) $(HELM_CTX) uninstall $(CHART_RELEASE) --namespace $(NAMESPACE) --ignore-not-found --wait
	$(RUN) $(KUBECTL) --context $(KUBE_CONTEXT) delete namespace $(NAMESPACE) --ignore-not-found --wait
	$(RUN) $(HELM_CTX) uninstall cnpg --namespace $(CNPG_NAMESPACE) --ignore-not-found --wait
