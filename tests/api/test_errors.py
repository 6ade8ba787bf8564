from tests.tenants import TenantTest


class TestErrorBodies(TenantTest):
    def test_malformed_json_is_400_with_error_body(self):
        response = self.api("admin").post("/api/v1/cloud-accounts/", data="{not json", content_type="application/json")
        assert response.status_code == 400
        body = response.json()
        assert body["error"]["id"] == "api:user:malformed-request"
        assert "JSON" in body["error"]["message"]

    def test_unknown_api_route_is_404_json(self, client):
        response = client.get("/api/v1/no-such-thing/")
        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
        assert response.json() == {"error": {"id": "api:user:not-found", "message": "Not found."}}
        assert client.get("/api/v2/whatever").json()["error"]["id"] == "api:user:not-found"

    def test_validation_errors_name_the_field(self):
        response = self.api("admin").post("/api/v1/cloud-accounts/", {"name": "x", "region": "mars-1"}, format="json")
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["id"] == "api:user:invalid"
        assert "region" in error["fields"]

    def test_anonymous_gets_401(self, client):
        response = client.get("/api/v1/members/")
        assert response.status_code == 401
        assert response.json()["error"]["id"] == "auth:user:unauthenticated"

    def test_lists_are_paginated(self):
        body = self.api("owner").get("/api/v1/members/?page_size=2").json()
        assert body["count"] == 4
        assert len(body["results"]) == 2
        assert body["next"]
