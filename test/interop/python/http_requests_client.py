"""The reference Python REST client: requests.post(url, json={'name': 'John'}).

Usage: http_requests_client.py BASE_URL      e.g. http://127.0.0.1:8080
Prints the greeting on the first line, then checks how the server answers bad input.
Exits non-zero (with the reason on stderr) when anything is not as expected.
"""
import sys

import requests

base = sys.argv[1]
url = base + '/api/hello'

# Exactly the call of the reference text.
response = requests.post(url, json={'name': 'John'})
assert response.json()['message'] == 'Hello, John!', response.text
print(response.json()['message'])

# Malformed JSON: 400 with the status body.
bad = requests.post(url, data='{"name": ', headers={'Content-Type': 'application/json'})
assert bad.status_code == 400, bad.status_code
assert bad.json()['status'] == 'INVALID_ARGUMENT', bad.text
assert bad.json()['code'] == 3, bad.text

# A form post (what curl -d sends): 415, INVALID_ARGUMENT in the body.
form = requests.post(url, data={'name': 'John'})
assert form.status_code == 415, form.status_code
assert form.json()['code'] == 3, form.text

# Unknown route and wrong method.
assert requests.get(base + '/api/nothing').status_code == 404
assert requests.get(url).status_code == 405

assert requests.get(base + '/healthz').json() == {'status': 'SERVING'}
print('ok')
