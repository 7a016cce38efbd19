def test_public_page_renders_for_path_url(client, org):
    response = client.get("/s/acme/")
    assert response.status_code == 200
    assert b"Acme Cloud" in response.content


def test_unknown_host_gets_404_page(client, db):
    response = client.get("/", HTTP_HOST="demo.status.example.com.evil.test")
    assert response.status_code == 404
    assert b"There is no status page at this address" in response.content
