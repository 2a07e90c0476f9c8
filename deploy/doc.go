// Package deploy holds authd's deployment files, docker-compose.yml and
// nginx.conf, beside the Dockerfile at the root of the module. It has no
// code: its tests check the files (nginx -t, the compose file's structure,
// the Dockerfile's build) without a Docker engine. See the README's
// "Deployment" for what is and is not tested.
package deploy
