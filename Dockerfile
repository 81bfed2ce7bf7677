# One image for every Archivist service: the API, the workers, the migrations and the search
# index host (xapian-tcpsrv from Debian's xapian-tools). See docker-compose.yml.
FROM python:3.11-slim

# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-eng xapian-tools \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . /src
RUN pip install --no-cache-dir . && rm -rf /src

WORKDIR /data
EXPOSE 8000 8100
CMD ["archivist", "serve", "--host", "0.0.0.0", "--port", "8000"]
