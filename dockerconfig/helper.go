package dockerconfig

import (
	"github.com/docker/docker-credential-helpers/client"
	"github.com/docker/docker-credential-helpers/credentials"
)

// helperStore and helperErase run docker-credential-NAME store/erase
// through docker-credential-helpers' client, as the docker CLI does.
func helperStore(name, server, user, secret string) error {
	return client.Store(client.NewShellProgramFunc("docker-credential-"+name), &credentials.Credentials{
		ServerURL: server, Username: user, Secret: secret,
	})
}

func helperErase(name, server string) error {
	return client.Erase(client.NewShellProgramFunc("docker-credential-"+name), server)
}
