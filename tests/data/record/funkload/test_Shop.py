# -*- coding: iso-8859-15 -*-
"""shop FunkLoad test

$Id: $
"""
import unittest
from funkload.FunkLoadTestCase import FunkLoadTestCase
from webunit.utility import Upload
from funkload.utils import Data
from funkload.utils import extract_token
#from funkload.utils import xmlrpc_get_credential

class Shop(FunkLoadTestCase):
    """XXX

    This test use a configuration file Shop.conf.
    """

    def setUp(self):
        """Setting up test."""
        self.logd("setUp")
        self.server_url = self.conf_get('main', 'url')
        # XXX here you can setup the credential access like this
        # credential_host = self.conf_get('credential', 'host')
        # credential_port = self.conf_getInt('credential', 'port')
        # self.login, self.password = xmlrpc_get_credential(credential_host,
        #                                                   credential_port,
        # XXX replace with a valid group
        #                                                   'members')
        self.addHeader('X-Test-Run', 'shop')

    def search(self, words):
        # A helper the test calls for each search.
        self.get(self.server_url + "/search", params=[['q', words]],
                 description="Search " + words)
        self.assert_(words in self.getBody(), "no results for " + words)

    def test_shop(self):
        # The description should be set in the configuration file
        server_url = self.server_url
        nb_searches = self.conf_getInt('test_shop', 'nb_searches', 2)
        # begin of test ---------------------------------------------

        # /tmp/tmpWs5Zk3_funkload/watch0001.request
        self.get(server_url + "/",
            description="Get /")
        # /tmp/tmpWs5Zk3_funkload/watch0002.request
        self.get(server_url + "/login",
            description="Get /login")
        token = extract_token(self.getBody(), 'name="token" value="', '"')
        # /tmp/tmpWs5Zk3_funkload/watch0003.request
        self.post(server_url + "/login", params=[
            ['token', token],
            ['user', 'alice'],
            ['password', 'secret']],
            description="Post /login")
        self.assert_('Welcome alice' in self.getBody(), "login failed")
        for i in range(nb_searches):
            self.search('tea ' + str(i))
        self.sleep()
        self.post(server_url + "/cart/add", params=[
            ['item', 'Green tea'],
            ['qty', '2']],
            description="Post /cart/add")
        if self.getLastUrl().endswith('/account'):
            self.logd('still on the account page')
        else:
            self.logd('on ' + self.getLastUrl())
        self.post(server_url + "/echo", Data('application/json',
                                             '{"order": [1, 2], "note": "gift"}'),
                  description="Post /echo")
        self.assert_('"body_size":33' in self.getBody(), 'echo lost bytes')
        self.setBasicAuth('alice', 'secret')
        self.get(server_url + "/logout", description="Get /logout",
                 ok_codes=[200, 302])
        self.clearBasicAuth()

        # end of test -----------------------------------------------

    def tearDown(self):
        """Setting up test."""
        self.logd("tearDown.\n")



if __name__ in ('main', '__main__'):
    unittest.main()
