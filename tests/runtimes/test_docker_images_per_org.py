"""A Dockerfile runtime's images live in its org's own repository, and deleting the runtime untags them there
(and under the one shared repository images were tagged in before)."""

from __future__ import annotations

import docker.errors
import pytest

from tests.runtimes import test_docker_builder
from tests.runtimes.test_docker_builder import BASE_IMAGE, REPOSITORY, _ids

dk = test_docker_builder.dk  # the daemon fixture (skips without one)


def test_image_repository_is_per_org_and_a_valid_reference(settings):
    from runtimes.builders.docker import image_repository

    settings.PYRUN_DOCKER_REPOSITORY = "PyRun/Runtimes/"
    settings.PYRUN_DOCKER_REGISTRY = ""
    assert image_repository(7) == "pyrun/runtimes-org7"
    settings.PYRUN_DOCKER_REGISTRY = "127.0.0.1:5000"
    assert image_repository(12) == "127.0.0.1:5000/pyrun/runtimes-org12"


@pytest.mark.slow
def test_removing_a_runtimes_images_untags_them_in_its_orgs_repository(dk):
    from runtimes.builders.docker import remove_local_images

    org_id, runtime_id = next(_ids), next(_ids)
    tags = [
        f"{REPOSITORY}-org{org_id}:rt{runtime_id}",
        f"{REPOSITORY}-org{org_id}:rt{runtime_id}-lambda",
        f"{REPOSITORY}:rt{runtime_id}",  # tagged before images had a repository per org
    ]
    base = dk.client.images.get(BASE_IMAGE)
    for tag in tags:
        repository, _, name = tag.rpartition(":")
        base.tag(repository, name)
    dk.created += tags
    other = f"{REPOSITORY}-org{org_id}:rt{runtime_id + 1}"  # another runtime of the org stays
    base.tag(*other.rsplit(":", 1))
    dk.created.append(other)

    remove_local_images(runtime_id, org_id)

    for tag in tags:
        with pytest.raises(docker.errors.ImageNotFound):
            dk.client.images.get(tag)
    dk.client.images.get(other)
