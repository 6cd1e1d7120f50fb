from tests.certificates import conftest as certificate_fixtures

cert_app = certificate_fixtures.cert_app
crew = certificate_fixtures.crew
build_job = certificate_fixtures.build_job
